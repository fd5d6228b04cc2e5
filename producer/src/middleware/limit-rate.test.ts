import { koaContext, runMiddleware } from '../../../test/support/koa-context';
import { RateLimiter } from '../rate-limit';
import type { CallerState } from './ingest-state';
import { ApiKeys } from '../api-keys';
import { authenticate } from './authenticate';
import { limitRate, limitRefusedAuthentication } from './limit-rate';

function request({ caller, ip = '192.0.2.1' }: { caller?: string; ip?: string }) {
  const ctx = koaContext<CallerState>();
  ctx.request.ip = ip;
  if (caller !== undefined) ctx.state.caller = caller;
  return ctx;
}

describe('limitRate', () => {
  it('past the burst, answers 429 with Retry-After and counts the request as overloaded', async () => {
    const next = jest.fn(async () => undefined);
    const limit = limitRate({ rateLimiter: new RateLimiter({ ratePerSecond: 0.5, burst: 1, now: () => 0 }) });
    await limit(request({ caller: 'key:a' }), next);
    await expect(runMiddleware(limit, request({ caller: 'key:a' }), next)).rejects.toMatchObject({
      status: 429,
      type: 'urn:event-pipeline:problem:rate-limited',
      headers: { 'retry-after': '2' },
    });
    expect(next).toHaveBeenCalledTimes(1);
  });

  it("keeps one bucket per API key's caller, else per client address", async () => {
    const next = jest.fn(async () => undefined);
    const limit = limitRate({ rateLimiter: new RateLimiter({ ratePerSecond: 1, burst: 1, now: () => 0 }) });
    // One key from two addresses is one caller; two addresses without a key are two.
    await limit(request({ caller: 'key:a', ip: '192.0.2.1' }), next);
    await expect(runMiddleware(limit, request({ caller: 'key:a', ip: '198.51.100.7' }), next)).rejects.toMatchObject({
      status: 429,
    });
    await limit(request({ ip: '192.0.2.1' }), next);
    await limit(request({ ip: '198.51.100.7' }), next);
    await expect(runMiddleware(limit, request({ ip: '198.51.100.7' }), next)).rejects.toMatchObject({ status: 429 });
    expect(next).toHaveBeenCalledTimes(3);
  });
});

// Issue 29: refusals were never throttled, so keys could be guessed at the speed of 401s.
describe('limitRefusedAuthentication', () => {
  const KEY = 'a-valid-key-0123456789';
  const guard = () =>
    limitRefusedAuthentication<CallerState>({
      rateLimiter: new RateLimiter({ ratePerSecond: 0.5, burst: 2, now: () => 0 }),
      authenticate: authenticate({ apiKeys: new ApiKeys([KEY]) }),
    });
  const keyed = (key: string, ip: string) => {
    const ctx = request({ ip });
    ctx.request.headers.authorization = `Bearer ${key}`;
    return ctx;
  };

  it('when an address is refused past its burst, then it gets 429 before its key is looked at', async () => {
    const limit = guard();
    const next = jest.fn(async () => undefined);
    for (let i = 0; i < 2; i++) {
      await expect(runMiddleware(limit, keyed('wrong-key-0123456789', '2001:db8::1'), next)).rejects.toMatchObject({
        status: 401,
      });
    }
    // Even the right key, from another address of the same /64: the guessing is what is throttled.
    await expect(runMiddleware(limit, keyed(KEY, '2001:db8::2'), next)).rejects.toMatchObject({
      status: 429,
      type: 'urn:event-pipeline:problem:rate-limited',
      headers: { 'retry-after': '2' },
    });
    // Another address is not held back.
    await runMiddleware(limit, keyed(KEY, '2001:db8:0:1::1'), next);
    expect(next).toHaveBeenCalledTimes(1);
  });

  it('when callers have valid keys, then they spend nothing of their address', async () => {
    const limit = guard();
    const next = jest.fn(async () => undefined);
    for (let i = 0; i < 5; i++) await runMiddleware(limit, keyed(KEY, '192.0.2.1'), next);
    expect(next).toHaveBeenCalledTimes(5);
  });
});
