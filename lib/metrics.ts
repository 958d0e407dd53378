import http from 'node:http';
import { AddressInfo } from 'node:net';
import client from 'prom-client';

export type MetricsRegistry = client.Registry;

/** A registry per service, with the process metrics (CPU, memory, event loop lag) every service exports. */
export function createMetricsRegistry(service: string): client.Registry {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ register: registry });
  return registry;
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Serves GET /metrics (Prometheus text) and GET /healthz (200 while `healthy()` says so,
 * 503 otherwise). Without a host it listens on every interface (0.0.0.0), so Prometheus in
 * another container or on another host can scrape it; pass `host: '127.0.0.1'` to keep it local.
 */
export async function startMetricsServer(
  registry: client.Registry,
  options: { port: number; host?: string; healthy?: () => boolean },
): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    if (req.url === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (err: Error) => {
          res.writeHead(500);
          res.end(err.message);
        },
      );
    } else if (req.url === '/healthz') {
      const ok = options.healthy ? options.healthy() : true;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'unhealthy\n');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
