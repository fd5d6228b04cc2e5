import type { Middleware } from 'koa';
import { problems } from '../problem';

/**
 * While draining, every answer closes its connection (also those of requests that began
 * before), so keep-alive clients move on and the server can close. It wraps the error edge, so
 * problem answers close theirs too.
 */
export function closeConnectionsWhileDraining(isDraining: () => boolean): Middleware {
  return async function closeWhileDraining(ctx, next) {
    try {
      await next();
    } finally {
      if (isDraining() && !ctx.headerSent) ctx.set('connection', 'close');
    }
  };
}

/** Turns new events away once the shut-down began (503 with Retry-After), before anything is read. */
export function refuseWhileDraining({
  isDraining,
  retryAfterSeconds,
}: {
  isDraining: () => boolean;
  retryAfterSeconds: number;
}): Middleware {
  return function refuseNewEvents(_ctx, next) {
    if (isDraining()) throw problems.shuttingDown(retryAfterSeconds);
    return next();
  };
}
