import type { Middleware } from 'koa';
import type { Counter } from '@event-pipeline/common';
import { INGEST_OUTCOMES, type IngestOutcome } from '../metrics';
import { Problem } from '../problem';
import type { IngestState } from './ingest-state';

/**
 * How the events of a request that was answered with `error` count: refused for who sent them
 * (`unauthorized`), for the load (`overloaded`: a rate limit, a full budget), for a dependency
 * or the shut-down (`failed`), or for what they were (`invalid`: every other 4xx). An error that
 * is no Problem is the server's own failure.
 */
export function outcomeOf(error: unknown): IngestOutcome {
  if (!(error instanceof Problem)) return 'failed';
  switch (error.slug) {
    case 'unauthorized':
      return 'unauthorized';
    case 'rate-limited':
    case 'overloaded':
      return 'overloaded';
    default:
      return error.status < 500 ? 'invalid' : 'failed';
  }
}

/**
 * The one place POST /events counts into `events_ingested_total`, by what the request ended as:
 * as many events as it carried (as many as it tried to send when it was refused: 1 before its
 * body was read). The label sets are bound once, so a request hashes none.
 */
export function countOutcomes(ingested: Counter<'outcome'>): Middleware<Partial<IngestState>> {
  const byOutcome = Object.fromEntries(
    INGEST_OUTCOMES.map((outcome) => [outcome, ingested.labels({ outcome })]),
  ) as Record<IngestOutcome, ReturnType<Counter<'outcome'>['labels']>>;
  return async function countRequestOutcome(ctx, next) {
    try {
      await next();
    } catch (error) {
      byOutcome[outcomeOf(error)].inc(ctx.state.records?.length ?? ctx.state.received ?? 1);
      throw error;
    }
    byOutcome.accepted.inc(ctx.state.records?.length ?? 0);
  };
}
