#!/usr/bin/env node
// Readiness probe of the native stack (deploy/native/lib.sh):
//   node probe.js kafka HOST:PORT            one metadata request (admin listTopics) with KafkaJS
//   node probe.js kafka HOST:PORT NODE_ID    a Metadata request to that broker alone, and its
//                                            answer lists broker NODE_ID among the live ones
//                                            (three-broker mode: registered, not fenced)
// Exit 0: answered; 1: did not answer; 2: KafkaJS is not installed (npm ci not run yet), in
// which case lib.sh falls back to Kafka's own TopicCommand.
'use strict';

const [what, target, nodeId] = process.argv.slice(2);
let kafkajs;
if (nodeId === undefined) {
  try {
    kafkajs = require('kafkajs');
  } catch {
    process.exit(2);
  }
}
setTimeout(() => process.exit(1), 8000).unref();

async function probeKafka(broker, expectedNode) {
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

if (what !== 'kafka' || !target || (nodeId !== undefined && !/^\d+$/.test(nodeId))) {
  console.error('usage: node probe.js kafka HOST:PORT [NODE_ID]');
  process.exit(64);
}
/**
 * One Metadata request (v4, no topics) to exactly this broker: KafkaJS's admin would send
 * it to any broker it knows, so a dead kafka-2 could fail the probe of kafka-1. Resolves to
 * the node ids of the live brokers in the answer.
 */
function brokerIds(target) {
  const net = require('node:net');
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const clientId = Buffer.from('stack-probe');
  // header v1: api_key 3, api_version 4, correlation_id, client_id; body: topics [] , allow_auto_topic_creation false
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4 + 1);
  let o = body.writeInt16BE(3, 0);
  o = body.writeInt16BE(4, o);
  o = body.writeInt32BE(1, o);
  o = body.writeInt16BE(clientId.length, o);
  o += clientId.copy(body, o);
  o = body.writeInt32BE(0, o);
  body.writeInt8(0, o);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port }, () => socket.write(Buffer.concat([size, body])));
    let data = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      if (data.length < 4 || data.length < 4 + data.readInt32BE(0)) return;
      socket.destroy();
      try {
        // size, correlation_id, throttle_time_ms, brokers [node_id, host, port, rack]
        let p = 12;
        const n = data.readInt32BE(p);
        p += 4;
        const ids = [];
        for (let i = 0; i < n; i++) {
          ids.push(data.readInt32BE(p));
          p += 4;
          p += 2 + data.readInt16BE(p); // host
          p += 4; // port
          const rack = data.readInt16BE(p);
          p += 2 + Math.max(rack, 0);
        }
        resolve(ids);
      } catch (err) {
        reject(err);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('connection closed before the answer')));
  });
}

async function probeNode(broker, expectedNode) {
  const ids = await brokerIds(broker);
  if (!ids.includes(Number(expectedNode))) throw new Error(`broker ${expectedNode} is not among the live brokers [${ids.join(',')}]`);
}

(nodeId === undefined ? probeKafka(target) : probeNode(target, nodeId)).then(
  () => process.exit(0),
  (err) => {
    if (process.env.STACK_PROBE_VERBOSE) console.error(err);
    process.exit(1);
  },
);
