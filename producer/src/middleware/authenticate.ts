import type { Middleware } from 'koa';
import type { ApiKeys } from '../api-keys';
import { problems } from '../problem';
import type { CallerState } from './ingest-state';

/**
 * Refuses (401) a request without a valid `Authorization: Bearer <key>`, before anything of its
 * body is read; names the caller by its key for the rate limit, the idempotency scope and its events' `authid`.
 */
export function authenticate({ apiKeys }: { apiKeys: ApiKeys }): Middleware<CallerState> {
  return function authenticateCaller(ctx, next) {
    const result = apiKeys.authenticate(ctx.get('authorization'));
    if ('refused' in result) throw problems.unauthorized(result.refused);
    ctx.state.caller = `key:${result.id}`;
    ctx.state.keyId = result.id;
    return next();
  };
}
