import type { Middleware } from 'koa';
import { problems } from '../problem';

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
