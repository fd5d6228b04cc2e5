import type { Middleware } from 'koa';
import { isValidIdempotencyKey } from '../events/idempotency';
import { readEvents } from '../events/read-events';
import { problems } from '../problem';
import type { CountIngested, ReadState } from './ingest-state';

export interface ReadRequestOptions {
  /** Largest body in bytes (413 above). */
  bodyLimitBytes: number;
  /** Bound on receiving a body once the headers are in (408 past it). */
  bodyTimeoutMs: number;
  maxEventsPerRequest: number;
  count: CountIngested;
}

/**
 * Reads the request's events in whichever mode it was sent, with its attributes checked
 * (events/read-events.ts), and its Idempotency-Key. A refused request counts as `invalid`, as
 * many events as it tried to send.
 */
export function readRequest({
  bodyLimitBytes,
  bodyTimeoutMs,
  maxEventsPerRequest,
  count,
}: ReadRequestOptions): Middleware<ReadState> {
  return async function readEventsOfRequest(ctx, next) {
    const { state } = ctx;
    state.received = 1;
    try {
      const idempotencyKey = ctx.get('idempotency-key');
      if (idempotencyKey !== '' && !isValidIdempotencyKey(idempotencyKey)) {
        throw problems.invalidHeader('idempotency-key', 'must be 1 to 255 visible ASCII characters');
      }
      state.idempotencyKey = idempotencyKey;
      state.request = await readEvents(ctx, {
        limit: bodyLimitBytes,
        timeoutMs: bodyTimeoutMs,
        maxEvents: maxEventsPerRequest,
        onItems: (items) => (state.received = items),
      });
    } catch (error) {
      count('invalid', state.received);
      throw error;
    }
    return next();
  };
}
