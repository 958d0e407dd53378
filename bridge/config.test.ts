import { loadConfig } from '../lib/config';
import { ConfigError } from '../lib/errors';
import { bridgeSchema, checkBridgeLimits, DLQ_RECORD_OVERHEAD_BYTES } from './config';

describe('checkBridgeLimits', () => {
  it('accepts the defaults', () => {
    expect(() => checkBridgeLimits(loadConfig(bridgeSchema, {}, {}).bridge)).not.toThrow();
  });

  it('stops start-up when a rejected payload of the largest size would not fit in a produce request', () => {
    const env = { BRIDGE_MAX_PAYLOAD_BYTES: String(1_000_000 - DLQ_RECORD_OVERHEAD_BYTES + 1), BRIDGE_MAX_BATCH_BYTES: '1000000' };
    const config = loadConfig(bridgeSchema, {}, env).bridge;
    expect(() => checkBridgeLimits(config)).toThrow(ConfigError);
    expect(() => checkBridgeLimits(config)).toThrow(/BRIDGE_MAX_PAYLOAD_BYTES.*BRIDGE_MAX_BATCH_BYTES/);
    expect(() => checkBridgeLimits({ ...config, maxPayloadBytes: config.maxPayloadBytes - 1 })).not.toThrow();
  });
});

describe('gateway batch limits', () => {
  it('name the key of a bad value', () => {
    expect(() => loadConfig(bridgeSchema, {}, { BRIDGE_MAX_READINGS_PER_MESSAGE: '0' })).toThrow(/BRIDGE_MAX_READINGS_PER_MESSAGE/);
    expect(() => loadConfig(bridgeSchema, {}, { BRIDGE_MAX_BATCH_PAYLOAD_BYTES: 'big' })).toThrow(/BRIDGE_MAX_BATCH_PAYLOAD_BYTES/);
  });
});
