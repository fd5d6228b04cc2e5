import type { Middleware } from 'koa';
import { problems } from '../problem';
import type { RateLimiter } from '../rate-limit';
import type { CallerState, CountIngested } from './ingest-state';

/** Refuses (429 with Retry-After) a caller past its rate: an API key's caller, else the client address. */
export function limitRate({
  rateLimiter,
  count,
}: {
  rateLimiter: RateLimiter;
  count: CountIngested;
}): Middleware<CallerState> {
  return function limitCallerRate(ctx, next) {
    const decision = rateLimiter.take(ctx.state.caller ?? `address:${ctx.ip}`);
    if (!decision.allowed) {
      count('overloaded', 1);
      throw problems.rateLimited(decision.retryAfterSeconds, 'this caller sent more requests than its rate limit');
    }
    return next();
  };
}
