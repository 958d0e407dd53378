import { Kafka, logLevel, LogEntry } from 'kafkajs';
import { brokerList } from './config';
import { Logger } from './log';

export interface KafkaConnection {
  brokers: string;
  clientId: string;
}

/** KafkaJS logs through the service's pino logger, so one process has one log stream. */
export function createKafka(config: KafkaConnection, logger: Logger, role: string): Kafka {
  const child = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: `${config.clientId}-${role}`,
    brokers: brokerList(config.brokers),
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, ...extra } = log;
        if (level <= logLevel.ERROR) child.error(extra, message);
        else if (level === logLevel.WARN) child.warn(extra, message);
        else child.debug(extra, message);
      },
    retry: { initialRetryTime: 200, retries: 10 },
  });
}
