# One image for every part of the pipeline: `docker run iot-pipeline <command>` with a command
# of the CLI (bridge, writer, detector, simulate, migrate, topics, analytics, ...).
# deploy/compose.yml builds it and runs each service from it.

# --- build: compile TypeScript to dist/ ---------------------------------------------------
FROM node:20.19-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY cli cli
COPY lib lib
COPY bridge bridge
COPY writer writer
COPY detector detector
COPY simulator simulator
COPY analytics analytics
COPY schemas schemas
COPY db db
RUN npm run build && npm prune --omit=dev

# --- runtime: dist/, production dependencies, the SQL migrations -------------------------
FROM node:20.19-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
# migrate reads db/migrations from the source tree when it runs from dist/ (db/migrate.ts)
COPY --from=build /app/db/migrations db/migrations
# the services need no privileges: the metrics ports are above 1024
USER node
ENTRYPOINT ["node", "dist/cli/index.js"]
CMD ["--help"]
