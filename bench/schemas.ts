// npm run bench:schemas: what Avro costs and saves against JSON, for the repository's example
// types, in one run on this machine. A real Apicurio (in memory, a free port) holds the pushed
// schemas; the producer's own check-and-encode step (checkEvents, from the registry's schemas)
// runs on batches of 100 events of each type. It prints record-value bytes per event (what
// Kafka stores) and the producer's CPU time per event in that step, with the ratio Avro / JSON.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createLogger,
  createMetricsRegistry,
  createSchemaRegistryMetrics,
  SchemaRegistryClient,
} from '../common/src/index';
import { RegistrySchemas } from '../producer/src/events/registry-schemas';
import { checkEvents } from '../producer/src/middleware/check-events';
import type { CallerState, CheckedState, ReadState } from '../producer/src/middleware/ingest-state';
import { stopRegistry } from '../scripts/registry/registry';
import { freePort } from '../test/support/processes';
import { koaContext, runMiddleware } from '../test/support/koa-context';
import { startBenchRegistry } from './registry';

const BATCH = 100;
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 50 : 300;

const examples: Record<string, { format: string; data: (n: number) => Record<string, unknown> }> = {
  'com.example.payment.authorized': {
    format: 'Avro',
    data: (n) => ({ paymentId: `p-${n}`, orderId: `o-${n}`, amountCents: 9950 + n, currency: 'EUR', method: 'CARD' }),
  },
  'com.example.order.created': {
    format: 'JSON Schema',
    data: (n) => ({ orderId: `o-${n}`, total: 99.5, currency: 'EUR', items: [{ sku: 'sku-1', quantity: 2 }] }),
  },
  'com.example.page.viewed': { format: 'JSON Schema', data: (n) => ({ path: `/docs/${n}` }) },
};

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-registry-'));
  const [port, managementPort] = [await freePort(), await freePort()];
  const registry = await startBenchRegistry(dir, port, managementPort);
  try {
    const client = new SchemaRegistryClient({ url: registry.url, timeoutMs: 10_000 });
    const metrics = createSchemaRegistryMetrics(createMetricsRegistry());
    const logger = createLogger({ service: 'bench', level: 'silent' });
    const schemas = new RegistrySchemas({ client, metrics, logger, refreshMs: 60_000 });
    const middleware = checkEvents({
      schemas,
      schemasRequired: true,
      eventSource: 'urn:bench',
      retryAfterSeconds: 1,
    });
    const run = async (type: string, rounds: number) => {
      let bytes = 0;
      let jsonBytes = 0;
      const cpu = process.cpuUsage();
      for (let round = 0; round < rounds; round++) {
        const events = Array.from({ length: BATCH }, (_, index) => ({ type, data: examples[type]!.data(index) }));
        const ctx = koaContext<CallerState & ReadState & CheckedState>();
        Object.assign(ctx.state, {
          request: { mode: 'plain', isBatch: true, events },
          idempotencyKey: '',
          received: BATCH,
        });
        await runMiddleware(middleware, ctx);
        for (const record of ctx.state.records) bytes += record.value?.length ?? 0;
        for (const event of events) jsonBytes += Buffer.byteLength(JSON.stringify(event.data));
      }
      const used = process.cpuUsage(cpu);
      const events = rounds * BATCH;
      return { bytes: bytes / events, jsonBytes: jsonBytes / events, cpuUs: (used.user + used.system) / events };
    };
    const rows: string[] = [];
    const cpuOf: Record<string, number> = {};
    for (const type of Object.keys(examples)) {
      await run(type, 10); // warm-up: the first lookup, the JIT
      const result = await run(type, ROUNDS);
      cpuOf[type] = result.cpuUs;
      rows.push(
        `| ${type} | ${examples[type]!.format} | ${result.bytes.toFixed(1)} | ${result.jsonBytes.toFixed(1)} | ${(result.bytes / result.jsonBytes).toFixed(2)} | ${result.cpuUs.toFixed(1)} |`,
      );
    }
    const ratio = cpuOf['com.example.payment.authorized']! / cpuOf['com.example.order.created']!;
    process.stdout.write(
      [
        `schemas: ${ROUNDS} batches of ${BATCH} events per type, check and encode (checkEvents) from the registry's schemas`,
        '',
        '| type | format | bytes per event on Kafka | bytes as JSON | on Kafka / JSON | producer CPU µs per event |',
        '| --- | --- | --- | --- | --- | --- |',
        ...rows,
        '',
        `CPU per event, Avro (payment.authorized) / JSON Schema (order.created): ${ratio.toFixed(2)}`,
        '',
      ].join('\n'),
    );
  } finally {
    await stopRegistry(dir);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:schemas: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
