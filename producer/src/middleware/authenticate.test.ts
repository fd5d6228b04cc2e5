import { koaContext, runMiddleware } from '../../../test/support/koa-context';
import { ApiKeys } from '../api-keys';
import { authenticate } from './authenticate';
import type { CallerState } from './ingest-state';

const KEY = 'test-key-0123456789abcdef';

describe('authenticate', () => {
  it('when the key is missing or wrong, answers 401 with WWW-Authenticate and counts the request as unauthorized', async () => {
    const next = jest.fn();
    const check = authenticate({ apiKeys: new ApiKeys([KEY]) });
    for (const headers of [{}, { authorization: 'Bearer wrong' }] as Array<Record<string, string>>) {
      await expect(runMiddleware(check, koaContext<CallerState>({ headers }), next)).rejects.toMatchObject({
        status: 401,
        type: 'urn:event-pipeline:problem:unauthorized',
        headers: { 'www-authenticate': 'Bearer realm="events"' },
      });
    }
    expect(next).not.toHaveBeenCalled();
  });

  it("when the key is valid, names the caller by the key's id and passes the request on", async () => {
    const ctx = koaContext<CallerState>({ headers: { authorization: `Bearer ${KEY}` } });
    const next = jest.fn(async () => undefined);
    await authenticate({ apiKeys: new ApiKeys(['other', KEY]) })(ctx, next);
    expect(ctx.state.caller).toMatch(/^key:[0-9a-f]{16}$/);
    expect(next).toHaveBeenCalledTimes(1);
  });
});
