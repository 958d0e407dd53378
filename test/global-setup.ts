import { findStack } from '../testkit/stack';

/** Finds or starts the stack once; test workers inherit the endpoints through the environment. */
export default async function globalSetup(): Promise<void> {
  const { endpoints, source } = await findStack();
  Object.assign(process.env, endpoints);
  process.stdout.write(
    `\nintegration tests use the ${source}: kafka ${endpoints.KAFKA_BROKERS}, ` +
      `mqtt ${endpoints.MQTT_BROKER}:${endpoints.MQTT_PORT}, postgres ${endpoints.POSTGRES_HOST}:${endpoints.POSTGRES_PORT}\n`,
  );
}
