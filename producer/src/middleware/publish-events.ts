import type { Middleware } from 'koa';
import { itemLocation, type EventsRequest } from '../events/read-events';
import type { IngestOutcome } from '../metrics';
import { problems, type Problem } from '../problem';
import { PublishError, type EventPublisher } from '../kafka/event-publisher';
import type { CheckedState, CountIngested, ReadState } from './ingest-state';

/** What a refused publish answers, and how its events count: the HTTP contract of each PublishError. */
export function publishRefusal(
  error: PublishError,
  request: Pick<EventsRequest, 'mode' | 'isBatch'>,
  retryAfterSeconds: number,
): { problem: Problem; outcome: IngestOutcome } {
  const { reason } = error;
  switch (reason.failure) {
    case 'too-large':
      return {
        problem: problems.eventTooLarge(itemLocation(request, reason.index), reason.size, reason.limit),
        outcome: 'invalid',
      };
    case 'overloaded':
      return { problem: problems.overloaded(retryAfterSeconds, error.message), outcome: 'overloaded' };
    default:
      return { problem: problems.unavailable(retryAfterSeconds, error.message, error), outcome: 'failed' };
  }
}

/**
 * Publishes the request's records and answers 202 with the ids once Kafka acknowledged every
 * one; a refused publish answers its problem (publishRefusal). The last middleware of POST /events.
 */
export function publishEvents({
  publisher,
  retryAfterSeconds,
  count,
}: {
  publisher: EventPublisher;
  retryAfterSeconds: number;
  count: CountIngested;
}): Middleware<ReadState & CheckedState> {
  return async function publishRecords(ctx) {
    const { records, ids, request } = ctx.state;
    try {
      await publisher.publish(records);
    } catch (error) {
      if (!(error instanceof PublishError)) throw error;
      const { problem, outcome } = publishRefusal(error, request, retryAfterSeconds);
      count(outcome, records.length);
      throw problem;
    }
    count('accepted', records.length);
    ctx.status = 202;
    // Serialised here with its type set, which spares Koa a media type look-up per answer.
    ctx.set('content-type', 'application/json; charset=utf-8');
    ctx.body = JSON.stringify({ ids });
  };
}
