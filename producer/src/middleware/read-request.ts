import type { Middleware } from 'koa';
import { isValidIdempotencyKey } from '../events/idempotency';
import { readEvents } from '../events/read-events';
import { problems } from '../problem';
import type { ReceiveBudget } from '../receive-budget';
import type { ReadState } from './ingest-state';

export interface ReadRequestOptions {
  /** Largest body in bytes (413 above). */
  bodyLimitBytes: number;
  /** Bound on receiving a body once the headers are in (408 past it). */
  bodyTimeoutMs: number;
  maxEventsPerRequest: number;
  /** Bytes of bodies being received at once; none when absent. */
  receiveBudget?: ReceiveBudget;
  /** Retry-After of the 503 for a body the budget has no room for. */
  retryAfterSeconds?: number;
}

/**
 * What a body takes of the receive budget before it is read: its Content-Length, or the body
 * limit when it comes chunked. A declared length above the limit takes nothing: it gets its 413.
 */
export function declaredBodyBytes(contentLength: string, bodyLimitBytes: number): number {
  if (contentLength === '') return bodyLimitBytes;
  const length = Number(contentLength);
  if (!Number.isSafeInteger(length) || length < 0) return bodyLimitBytes;
  return length > bodyLimitBytes ? 0 : length;
}

/**
 * Reads the request's events in whichever mode it was sent, with its attributes checked
 * (events/read-events.ts), and its Idempotency-Key. A refused request counts as `invalid`, as
 * many events as it tried to send. With a receive budget, a body that does not fit in it is
 * refused before it is read (503 `overloaded`, counted so, and the connection closes).
 */
export function readRequest({
  bodyLimitBytes,
  bodyTimeoutMs,
  maxEventsPerRequest,
  receiveBudget,
  retryAfterSeconds = 1,
}: ReadRequestOptions): Middleware<ReadState> {
  return async function readEventsOfRequest(ctx, next) {
    const { state } = ctx;
    state.received = 1;
    const give = receiveBudget?.take(declaredBodyBytes(ctx.get('content-length'), bodyLimitBytes));
    if (receiveBudget && !give) throw problems.receiveBudgetFull(retryAfterSeconds, receiveBudget.capacityBytes);
    try {
      const idempotencyKey = ctx.get('idempotency-key');
      // A header sent empty is refused, not taken as none: the client meant a key and has none.
      if (ctx.headers['idempotency-key'] !== undefined && !isValidIdempotencyKey(idempotencyKey)) {
        throw problems.invalidHeader('idempotency-key', 'must be 1 to 255 visible ASCII characters');
      }
      state.idempotencyKey = idempotencyKey;
      state.request = await readEvents(ctx, {
        limit: bodyLimitBytes,
        timeoutMs: bodyTimeoutMs,
        maxEvents: maxEventsPerRequest,
        onItems: (items) => (state.received = items),
      });
    } finally {
      // Read and parsed (or refused): the raw body is garbage now; its events, if accepted,
      // count against MAX_INFLIGHT_BYTES from here on.
      give?.();
    }
    return next();
  };
}
