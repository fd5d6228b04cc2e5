import { koaContext, runMiddleware } from '../../../test/support/koa-context';
import { PublishError, type EventPublisher } from '../kafka/event-publisher';
import type { CheckedState, ReadState } from './ingest-state';
import { outcomeOf } from './count-outcomes';
import { publishEvents, publishRefusal } from './publish-events';

const batch = { mode: 'plain', isBatch: true } as const;

describe('publishRefusal', () => {
  it.each([
    ['overloaded', 503, 'overloaded', 'overloaded'],
    ['unavailable', 503, 'kafka-unavailable', 'failed'],
    ['timeout', 503, 'kafka-unavailable', 'failed'],
    ['failed', 503, 'kafka-unavailable', 'failed'],
  ] as const)('answers a %s publish with %i %s, counted as %s, with Retry-After', (failure, status, slug, outcome) => {
    const problem = publishRefusal(new PublishError({ failure }, `it ${failure}`), batch, 3);
    expect(outcomeOf(problem)).toBe(outcome);
    expect(problem).toMatchObject({
      status,
      type: `urn:event-pipeline:problem:${slug}`,
      headers: { 'retry-after': '3' },
    });
  });

  it('answers an event too large for Kafka with 413 naming the item, counted as invalid', () => {
    const error = new PublishError({ failure: 'too-large', index: 1, size: 2000, limit: 1000 }, 'too large');
    const problem = publishRefusal(error, batch, 3);
    expect(problem).toMatchObject({
      status: 413,
      type: 'urn:event-pipeline:problem:event-too-large',
      extensions: { errors: [{ index: 1, pointer: '/1', message: 'encodes to 2000 bytes, over 1000' }] },
    });
    expect(outcomeOf(problem)).toBe('invalid');
    expect(publishRefusal(error, { mode: 'binary', isBatch: false }, 3).extensions).toEqual({
      errors: [{ message: 'encodes to 2000 bytes, over 1000' }],
    });
  });
});

describe('publishEvents', () => {
  function checked(publish: EventPublisher['publish']) {
    const middleware = publishEvents({
      publisher: { publish, readiness: () => ({ ready: true }) },
      retryAfterSeconds: 3,
    });
    const ctx = koaContext<ReadState & CheckedState>();
    Object.assign(ctx.state, {
      request: { ...batch, events: [] },
      idempotencyKey: '',
      received: 2,
      records: [
        { key: 'a', value: null, headers: {}, timestamp: '0' },
        { key: 'b', value: null, headers: {}, timestamp: '0' },
      ],
      ids: ['id-a', 'id-b'],
    });
    return { middleware, ctx };
  }

  it('answers 202 with the ids once the publish resolved, leaving the counting to countOutcomes', async () => {
    const published: unknown[] = [];
    const { middleware, ctx } = checked(async (records) => void published.push(records));
    await runMiddleware(middleware, ctx);
    expect(published).toEqual([ctx.state.records]);
    expect(ctx.status).toBe(202);
    expect(JSON.parse(ctx.body as string)).toEqual({ ids: ['id-a', 'id-b'] });
    expect(ctx.response.get('content-type')).toBe('application/json; charset=utf-8');
  });

  it('answers a refused publish with its problem', async () => {
    const { middleware, ctx } = checked(() => Promise.reject(new PublishError({ failure: 'overloaded' }, 'too many')));
    await expect(runMiddleware(middleware, ctx)).rejects.toMatchObject({
      type: 'urn:event-pipeline:problem:overloaded',
    });
  });

  it('lets any other failure through to the error edge', async () => {
    const { middleware, ctx } = checked(() => Promise.reject(new TypeError('bug')));
    await expect(runMiddleware(middleware, ctx)).rejects.toThrow(TypeError);
  });
});
