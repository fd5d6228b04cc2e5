import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { attachKafkaCluster } from '../../scripts/kafka/cluster';
import { stackDown, stackParts, stackUp, type Part, type StackLayout } from '../../scripts/stack/stack';
import { ancestorsOf, waitForEventTrace } from '../support/jaeger';
import { testPort, uniqueName } from '../support/kafka';
import { postJson } from '../support/pipeline';

jest.setTimeout(300_000);

// `npm run stack:up` as code: the same parts, moved off the contract's ports so that a running
// stack on this machine is left alone.
describe('the local stack', () => {
  const layout: StackLayout = {
    dir: mkdtempSync(path.join(tmpdir(), 'stack-')),
    kafkaInstance: uniqueName('stack'),
    kafkaPort: testPort(10_400),
    jaeger: {
      otlpGrpc: testPort(10_410),
      otlpHttp: testPort(10_411),
      query: testPort(10_412),
      queryGrpc: testPort(10_413),
      health: testPort(10_414),
      metrics: testPort(10_415),
    },
    producerPort: testPort(10_420),
    consumerPort: testPort(10_421),
  };
  let parts: Part[];
  const url = (name: string): string => parts.find((part) => part.name === name)!.url;

  beforeAll(async () => {
    parts = stackParts(layout);
    await stackUp(parts);
  });

  afterAll(async () => {
    if (parts) await stackDown(parts);
    await (await attachKafkaCluster(layout.kafkaInstance))?.destroy();
  });

  it('starts every part, and starting it again leaves the running parts alone', async () => {
    for (const part of parts) expect(await part.running()).toBe(true);
    const started = Date.now();
    await stackUp(parts);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('takes 10 events and shows each as a trace in which a consumer span descends from the producer HTTP span', async () => {
    const ids: string[] = [];
    for (let index = 0; index < 10; index += 1) {
      const response = await postJson(url('producer'), { type: 'order.placed', subject: `order-${index}` });
      expect(response.status).toBe(202);
      ids.push(((await response.json()) as { ids: string[] }).ids[0]!);
    }
    const traceIds = new Set<string>();
    for (const id of ids) {
      const spans = await waitForEventTrace(
        url('jaeger'),
        id,
        (trace) => trace.some((span) => span.service === 'consumer' && span.kind === 'consumer'),
        // The stack's services export on the SDK's default schedule (every 5 s).
        { intervalMs: 500 },
      );
      const server = spans.find((span) => span.service === 'producer' && span.kind === 'server')!;
      const consumed = spans.find((span) => span.service === 'consumer' && span.kind === 'consumer')!;
      expect(server.name).toBe('POST /events');
      expect(ancestorsOf(consumed, spans)).toContain(server);
      traceIds.add(server.traceId);
    }
    expect(traceIds.size).toBe(10);
  });
});
