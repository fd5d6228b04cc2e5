import { koaContext, runMiddleware } from '../../../test/support/koa-context';
import { RateLimiter } from '../rate-limit';
import type { CallerState } from './ingest-state';
import { limitRate } from './limit-rate';

function request({ caller, ip = '192.0.2.1' }: { caller?: string; ip?: string }) {
  const ctx = koaContext<CallerState>();
  ctx.request.ip = ip;
  if (caller !== undefined) ctx.state.caller = caller;
  return ctx;
}

describe('limitRate', () => {
  it('past the burst, answers 429 with Retry-After and counts the request as overloaded', async () => {
    const count = jest.fn();
    const next = jest.fn(async () => undefined);
    const limit = limitRate({ rateLimiter: new RateLimiter({ ratePerSecond: 0.5, burst: 1, now: () => 0 }), count });
    await limit(request({ caller: 'key:a' }), next);
    await expect(runMiddleware(limit, request({ caller: 'key:a' }), next)).rejects.toMatchObject({
      status: 429,
      type: 'urn:event-pipeline:problem:rate-limited',
      headers: { 'retry-after': '2' },
    });
    expect(next).toHaveBeenCalledTimes(1);
    expect(count).toHaveBeenCalledWith('overloaded', 1);
  });

  it("keeps one bucket per API key's caller, else per client address", async () => {
    const count = jest.fn();
    const next = jest.fn(async () => undefined);
    const limit = limitRate({ rateLimiter: new RateLimiter({ ratePerSecond: 1, burst: 1, now: () => 0 }), count });
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
