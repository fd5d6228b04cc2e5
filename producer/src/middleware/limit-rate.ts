import type { Middleware } from 'koa';
import { Problem, problems } from '../problem';
import { addressBucket, type RateLimiter } from '../rate-limit';
import type { CallerState } from './ingest-state';

/** Refuses (429 with Retry-After) a caller past its rate: an API key's caller, else the client address. */
export function limitRate({ rateLimiter }: { rateLimiter: RateLimiter }): Middleware<CallerState> {
  return function limitCallerRate(ctx, next) {
    const decision = rateLimiter.take(ctx.state.caller ?? addressBucket(ctx.ip));
    if (!decision.allowed) {
      throw problems.rateLimited(decision.retryAfterSeconds, 'this caller sent more requests than its rate limit');
    }
    return next();
  };
}

/**
 * Wraps `authenticate` so that refusals cost the client address a token: once its bucket is
 * empty, the address gets 429 before any key it offers is looked at, so keys cannot be guessed
 * at the speed of 401s. Callers with a valid key spend nothing here (their key's bucket applies
 * after).
 */
export function limitRefusedAuthentication<State extends CallerState>({
  rateLimiter,
  authenticate,
}: {
  rateLimiter: RateLimiter;
  authenticate: Middleware<State>;
}): Middleware<State> {
  return async function limitAuthenticationRefusals(ctx, next) {
    const address = addressBucket(ctx.ip);
    const decision = rateLimiter.check(address);
    if (!decision.allowed) {
      throw problems.rateLimited(
        decision.retryAfterSeconds,
        'this address sent more refused requests than its rate limit',
      );
    }
    let authenticated = false;
    try {
      await authenticate(ctx, () => {
        authenticated = true;
        return next();
      });
    } catch (error) {
      if (!authenticated && error instanceof Problem && error.status === 401) rateLimiter.take(address);
      throw error;
    }
  };
}
