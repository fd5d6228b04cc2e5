import {
  createLogger,
  createMetricsRegistry,
  createSchemaRegistryMetrics,
  SchemaRegistryClient,
  type CloudEvent,
} from '@event-pipeline/common';
import { createDataDecoder, UndecodableDataError } from './data-decoder';

// A registry that is not there: nothing listens on port 9 of this machine.
function decoder() {
  const registry = createMetricsRegistry();
  const metrics = createSchemaRegistryMetrics(registry);
  const client = new SchemaRegistryClient({ url: 'http://127.0.0.1:9/apis/ccompat/v7', timeoutMs: 500, metrics });
  const logger = createLogger({ service: 'test', level: 'silent' });
  return { registry, decode: createDataDecoder({ client, metrics, logger, initialDelayMs: 20, maxDelayMs: 40 }) };
}

const avroEvent = (data: Buffer): CloudEvent => ({
  specversion: '1.0',
  id: 'e-1',
  source: 'urn:test',
  type: 't',
  time: '2026-01-01T00:00:00Z',
  datacontenttype: 'application/avro',
  data,
});
const owned = { stillOwned: () => undefined };

describe('the data decoder', () => {
  it('leaves events that are not Avro as they are', async () => {
    const event = { ...avroEvent(Buffer.from('x')), datacontenttype: 'application/json', data: { a: 1 } };
    await expect(
      decoder().decode.decode(event, { signal: new AbortController().signal, ...owned }),
    ).resolves.toBeUndefined();
    expect(event.data).toEqual({ a: 1 });
  });

  it('refuses, without asking the registry, a value whose magic byte is not 0 or that is shorter than the header', async () => {
    const { decode } = decoder();
    const signal = new AbortController().signal;
    await expect(decode.decode(avroEvent(Buffer.from([3, 0, 0, 0, 1, 9])), { signal, ...owned })).rejects.toThrow(
      new UndecodableDataError("the Avro value starts with byte 3, not the wire format's magic byte 0"),
    );
    await expect(decode.decode(avroEvent(Buffer.from([0, 0])), { signal, ...owned })).rejects.toMatchObject({
      retriable: false,
      message: "the Avro value has 2 bytes, fewer than the 5 of the wire format's header",
    });
  });

  it('waits while the registry is unreachable, counting each failed lookup, until the worker stops', async () => {
    const { decode, registry } = decoder();
    const stop = new AbortController();
    const waiting = decode.decode(avroEvent(Buffer.from([0, 0, 0, 0, 7, 2])), { signal: stop.signal, ...owned });
    const errors = async () =>
      (await registry.getSingleMetric('events_schema_registry_lookups_total')!.get()).values.find(
        (v) => v.labels.outcome === 'error',
      )?.value ?? 0;
    for (let tries = 0; (await errors()) < 3 && tries < 200; tries++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await errors()).toBeGreaterThanOrEqual(3);
    stop.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    const reachable = await registry.getSingleMetric('events_schema_registry_reachable')!.get();
    expect(reachable.values[0]?.value).toBe(0);
  });
});
