#!/usr/bin/env node
// Readiness probe of the native stack (deploy/native/lib.sh):
//   node probe.js kafka HOST:PORT   one metadata request (admin listTopics) with KafkaJS
// Exit 0: answered; 1: did not answer; 2: KafkaJS is not installed (npm ci not run yet), in
// which case lib.sh falls back to Kafka's own TopicCommand.
'use strict';

const [what, target] = process.argv.slice(2);
let kafkajs;
try {
  kafkajs = require('kafkajs');
} catch {
  process.exit(2);
}
setTimeout(() => process.exit(1), 8000).unref();

async function probeKafka(broker) {
  const { Kafka, logLevel } = kafkajs;
  const kafka = new Kafka({
    clientId: 'stack-probe',
    brokers: [broker],
    connectionTimeout: 2000,
    requestTimeout: 3000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}

if (what !== 'kafka' || !target) {
  console.error('usage: node probe.js kafka HOST:PORT');
  process.exit(64);
}
probeKafka(target).then(
  () => process.exit(0),
  (err) => {
    if (process.env.STACK_PROBE_VERBOSE) console.error(err);
    process.exit(1);
  },
);
