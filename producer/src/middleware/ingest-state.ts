import type { OutboundRecord } from '@event-pipeline/common';
import type { EventsRequest } from '../events/read-events';

/*
 * What the middleware of POST /events leave on `ctx.state` for the ones after them, in the
 * order they run. Each middleware is typed with the parts it reads or writes; the route is typed
 * with all of them (`router.post<IngestState>`).
 */

/** Set by `authenticate`. */
export interface CallerState {
  /** `key:<id>` of the API key that authenticated the request; absent when API keys are off. */
  caller?: string;
  /** The id of that API key (a short hash of it, not secret), stamped on its events as `authid`. */
  keyId?: string;
}

/** Set by `readRequest`. */
export interface ReadState {
  /** The Idempotency-Key header, '' when the request has none. */
  idempotencyKey: string;
  request: EventsRequest;
  /** How many events the request tried to send (1 unless its body is an array), counted also when it is refused. */
  received: number;
}

/** Set by `checkEvents`. */
export interface CheckedState {
  /** The request's events as Kafka records, in request order. */
  records: OutboundRecord[];
  ids: string[];
}

export type IngestState = CallerState & ReadState & CheckedState;
