import { createMetricsRegistry } from '@event-pipeline/common';
import { koaContext, runMiddleware } from '../../../test/support/koa-context';
import { createProducerMetrics, INGEST_OUTCOMES } from '../metrics';
import { problems, type Problem } from '../problem';
import { countOutcomes } from './count-outcomes';
import type { IngestState } from './ingest-state';

async function counted(state: Partial<IngestState>, answer: () => Promise<void>): Promise<Record<string, number>> {
  const registry = createMetricsRegistry();
  const metrics = createProducerMetrics(registry);
  const ctx = koaContext<Partial<IngestState>>();
  Object.assign(ctx.state, state);
  await runMiddleware(countOutcomes(metrics.ingested), ctx, answer).catch(() => undefined);
  const values = (await metrics.ingested.get()).values;
  return Object.fromEntries(
    INGEST_OUTCOMES.map((outcome) => [outcome, values.find((value) => value.labels.outcome === outcome)?.value ?? 0]),
  );
}

const refusedWith = (problem: Problem | Error) => () => Promise.reject(problem);
const record = { key: null, value: null, headers: {}, timestamp: '0' };

describe('countOutcomes', () => {
  it('when the request is answered 202, then its records count as accepted, once', async () => {
    expect(await counted({ received: 3, records: [record, record, record] }, async () => undefined)).toMatchObject({
      accepted: 3,
      invalid: 0,
      failed: 0,
    });
  });

  it.each([
    ['a missing or wrong key', problems.unauthorized('missing'), 'unauthorized'],
    ['a rate limit', problems.rateLimited(1, 'past the rate'), 'overloaded'],
    ['a full receive budget', problems.receiveBudgetFull(1, 1024), 'overloaded'],
    ['too many events in flight', problems.overloaded(1, 'full'), 'overloaded'],
    ['the shut-down', problems.shuttingDown(1), 'failed'],
    ['Kafka away', problems.unavailable(1, 'down'), 'failed'],
    ['the schema registry away', problems.schemaRegistryUnavailable(1, 'down'), 'failed'],
    ['a malformed body', problems.malformedJson('not JSON'), 'invalid'],
    ['a schema violation', problems.schemaViolation([{ index: 0, pointer: '/0', message: 'no' }], 1), 'invalid'],
    ['a bug of ours', new TypeError('bug'), 'failed'],
  ])('when it is refused for %s, then the events it tried to send count as %s', async (_why, error, outcome) => {
    const counts = await counted({ received: 4 }, refusedWith(error));
    expect(counts[outcome]).toBe(4);
    expect(Object.values(counts).reduce((sum, value) => sum + value, 0)).toBe(4);
  });

  it('when it is refused before its body was read, then it counts as one event', async () => {
    expect((await counted({}, refusedWith(problems.unauthorized('missing')))).unauthorized).toBe(1);
  });
});
