import { koaContext, runMiddleware } from '../../../test/support/koa-context';
import { PublishError, type EventPublisher } from '../kafka/event-publisher';
import type { CheckedState, ReadState } from './ingest-state';
import { publishEvents, publishRefusal } from './publish-events';

const batch = { mode: 'plain', isBatch: true } as const;

describe('publishRefusal', () => {
  it.each([
    ['overloaded', 503, 'overloaded', 'overloaded'],
    ['unavailable', 503, 'kafka-unavailable', 'failed'],
    ['timeout', 503, 'kafka-unavailable', 'failed'],
    ['failed', 503, 'kafka-unavailable', 'failed'],
  ] as const)('answers a %s publish with %i %s, counted as %s, with Retry-After', (failure, status, slug, outcome) => {
    const { problem, outcome: counted } = publishRefusal(new PublishError({ failure }, `it ${failure}`), batch, 3);
    expect(problem).toMatchObject({
      status,
      type: `urn:event-pipeline:problem:${slug}`,
      headers: { 'retry-after': '3' },
    });
    expect(counted).toBe(outcome);
  });

  it('answers an event too large for Kafka with 413 naming the item, counted as invalid', () => {
    const error = new PublishError({ failure: 'too-large', index: 1, size: 2000, limit: 1000 }, 'too large');
    const { problem, outcome } = publishRefusal(error, batch, 3);
    expect(problem).toMatchObject({
      status: 413,
      type: 'urn:event-pipeline:problem:event-too-large',
      extensions: { errors: [{ index: 1, pointer: '/1', message: 'encodes to 2000 bytes, over 1000' }] },
    });
    expect(outcome).toBe('invalid');
    expect(publishRefusal(error, { mode: 'binary', isBatch: false }, 3).problem.extensions).toEqual({
      errors: [{ message: 'encodes to 2000 bytes, over 1000' }],
    });
  });
});

describe('publishEvents', () => {
  function checked(publish: EventPublisher['publish']) {
    const count = jest.fn();
    const middleware = publishEvents({
      publisher: { publish, readiness: () => ({ ready: true }) },
      retryAfterSeconds: 3,
      count,
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
    return { count, middleware, ctx };
  }

  it('answers 202 with the ids once the publish resolved, counting every event as accepted', async () => {
    const published: unknown[] = [];
    const { count, middleware, ctx } = checked(async (records) => void published.push(records));
    await runMiddleware(middleware, ctx);
    expect(published).toEqual([ctx.state.records]);
    expect(ctx.status).toBe(202);
    expect(JSON.parse(ctx.body as string)).toEqual({ ids: ['id-a', 'id-b'] });
    expect(ctx.response.get('content-type')).toBe('application/json; charset=utf-8');
    expect(count).toHaveBeenCalledWith('accepted', 2);
  });

  it('answers a refused publish with its problem, counting every event by its outcome', async () => {
    const { count, middleware, ctx } = checked(() =>
      Promise.reject(new PublishError({ failure: 'overloaded' }, 'too many')),
    );
    await expect(runMiddleware(middleware, ctx)).rejects.toMatchObject({
      type: 'urn:event-pipeline:problem:overloaded',
    });
    expect(count.mock.calls).toEqual([['overloaded', 2]]);
  });

  it('lets any other failure through to the error edge, counting nothing', async () => {
    const { count, middleware, ctx } = checked(() => Promise.reject(new TypeError('bug')));
    await expect(runMiddleware(middleware, ctx)).rejects.toThrow(TypeError);
    expect(count).not.toHaveBeenCalled();
  });
});
