import type { Middleware } from 'koa';
import { itemLocation, type EventsRequest } from '../events/read-events';
import { problems, type Problem } from '../problem';
import { PublishError, type EventPublisher } from '../kafka/event-publisher';
import type { CheckedState, ReadState } from './ingest-state';

/** What a refused publish answers: the HTTP contract of each PublishError. */
export function publishRefusal(
  error: PublishError,
  request: Pick<EventsRequest, 'mode' | 'isBatch'>,
  retryAfterSeconds: number,
): Problem {
  const { reason } = error;
  switch (reason.failure) {
    case 'too-large':
      return problems.eventTooLarge(itemLocation(request, reason.index), reason.size, reason.limit);
    case 'overloaded':
      return problems.overloaded(retryAfterSeconds, error.message);
    default:
      return problems.unavailable(retryAfterSeconds, error.message, error);
  }
}

/**
 * Publishes the request's records and answers 202 with the ids once Kafka acknowledged every
 * one; a refused publish answers its problem (publishRefusal). The last middleware of POST /events.
 */
export function publishEvents({
  publisher,
  retryAfterSeconds,
}: {
  publisher: EventPublisher;
  retryAfterSeconds: number;
}): Middleware<ReadState & CheckedState> {
  return async function publishRecords(ctx) {
    const { records, ids, request } = ctx.state;
    try {
      await publisher.publish(records);
    } catch (error) {
      if (!(error instanceof PublishError)) throw error;
      throw publishRefusal(error, request, retryAfterSeconds);
    }
    ctx.status = 202;
    // Serialised here with its type set, which spares Koa a media type look-up per answer.
    ctx.set('content-type', 'application/json; charset=utf-8');
    ctx.body = JSON.stringify({ ids });
  };
}
