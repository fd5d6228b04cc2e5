import type { Middleware } from 'koa';
import type { RequestTracker } from '../request-tracker';

/**
 * Counts every request from its first middleware to its answer, so the shut-down waits for the
 * ones already taken. Outermost, so a request is counted while any other middleware works on it.
 */
export function trackRequests(tracker: RequestTracker): Middleware {
  return async function trackRequest(_ctx, next) {
    tracker.enter();
    try {
      await next();
    } finally {
      tracker.leave();
    }
  };
}
