import { ConfigError, parseConfig } from '@event-pipeline/common';
import { budgetShare, loadProducerConfig, resolveWorkers, schemasCliConfigSchema } from './config';

const MIB = 1024 * 1024;

describe('PRODUCER_WORKERS', () => {
  it('when unset, then one worker per core', () => {
    expect(resolveWorkers(loadProducerConfig({}), 4)).toBe(4);
    expect(resolveWorkers(loadProducerConfig({}), 1)).toBe(1);
  });

  it('when unset on a machine with more cores than the budgets can be shared among, then as many as they can', () => {
    // 20,000 events in flight / 1,000 per request: 20 workers; 32 MiB receiving * 3/4 / 1 MiB: 24.
    expect(resolveWorkers(loadProducerConfig({}), 48)).toBe(20);
    // 8 MiB / 6 rounds down to a share whose 3/4 is a little under 1 MiB: 5.
    expect(resolveWorkers(loadProducerConfig({ MAX_RECEIVING_BYTES: String(8 * MIB) }), 48)).toBe(5);
  });

  it('when set, then that many, whatever the cores', () => {
    expect(resolveWorkers(loadProducerConfig({ PRODUCER_WORKERS: '1' }), 8)).toBe(1);
    expect(resolveWorkers(loadProducerConfig({ PRODUCER_WORKERS: '3' }), 1)).toBe(3);
  });

  it.each([
    ['0', 'PRODUCER_WORKERS'],
    ['two', 'PRODUCER_WORKERS: must be a whole number'],
    ['30', 'MAX_INFLIGHT_EVENTS: must be at least MAX_EVENTS_PER_REQUEST (1000) per worker: 30000 for 30 workers'],
  ])('when set to %s, then the start stops with one line naming the variable', (value, message) => {
    expect(() => loadProducerConfig({ PRODUCER_WORKERS: value })).toThrow(ConfigError);
    expect(() => loadProducerConfig({ PRODUCER_WORKERS: value })).toThrow(message);
  });

  it('when the receive budget cannot hold a largest body per worker, then it says how much it needs', () => {
    expect(() => loadProducerConfig({ PRODUCER_WORKERS: '4', MAX_RECEIVING_BYTES: String(4 * MIB) })).toThrow(
      `MAX_RECEIVING_BYTES: must be at least 4/3 of BODY_LIMIT_BYTES (1398102) per worker: 5592408 for 4 workers`,
    );
  });
});

describe('budgetShare', () => {
  it("gives each worker an equal share of the producer's budgets, rounded down, so that together they stay inside", () => {
    const config = loadProducerConfig({ MAX_INFLIGHT_BYTES: String(64 * MIB + 1) });
    const share = budgetShare(config, 3);
    expect(share.MAX_INFLIGHT_EVENTS * 3).toBeLessThanOrEqual(config.MAX_INFLIGHT_EVENTS);
    expect(share.MAX_INFLIGHT_BYTES * 3).toBeLessThanOrEqual(config.MAX_INFLIGHT_BYTES);
    expect(share.MAX_RECEIVING_BYTES * 3).toBeLessThanOrEqual(config.MAX_RECEIVING_BYTES);
    expect(share.MAX_INFLIGHT_EVENTS).toBe(6666);
    // What is not a budget stays as it is.
    expect(share.BODY_LIMIT_BYTES).toBe(config.BODY_LIMIT_BYTES);
    expect(share.MAX_EVENTS_PER_REQUEST).toBe(config.MAX_EVENTS_PER_REQUEST);
  });

  it('gives a single process the whole budgets', () => {
    const config = loadProducerConfig({});
    expect(budgetShare(config, 1)).toEqual(config);
  });
});

describe('the settings `schemas push|check` reads', () => {
  it("are the producer's own, with the same defaults and checks", () => {
    const producer = loadProducerConfig({});
    const cli = parseConfig(schemasCliConfigSchema, {});
    expect(cli.SCHEMA_REGISTRY_TIMEOUT_MS).toBe(producer.SCHEMA_REGISTRY_TIMEOUT_MS);
    expect(cli.SCHEMA_REGISTRY_URL).toBeUndefined();
    expect(() => parseConfig(schemasCliConfigSchema, { SCHEMA_REGISTRY_TIMEOUT_MS: '5' })).toThrow(ConfigError);
    expect(() => parseConfig(schemasCliConfigSchema, { SCHEMA_REGISTRY_URL: 'registry:8081' })).toThrow(
      'SCHEMA_REGISTRY_URL',
    );
  });
});
