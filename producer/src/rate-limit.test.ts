import { RateLimiter } from './rate-limit';

describe('RateLimiter (token bucket per caller)', () => {
  it('lets a burst through, then one request per 1/rate seconds, and says when the next token comes', () => {
    let now = 0;
    const limiter = new RateLimiter({ ratePerSecond: 2, burst: 3, now: () => now });
    for (let i = 0; i < 3; i++) expect(limiter.take('a')).toEqual({ allowed: true });
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    now += 500;
    expect(limiter.take('a')).toEqual({ allowed: true });
    expect(limiter.take('a').allowed).toBe(false);
    expect(limiter.take('b')).toEqual({ allowed: true });
  });

  it('rounds Retry-After up to whole seconds at slow rates', () => {
    let now = 0;
    const limiter = new RateLimiter({ ratePerSecond: 0.1, burst: 1, now: () => now });
    limiter.take('a');
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterSeconds: 10 });
    now += 4000;
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterSeconds: 6 });
  });

  it('bounds its memory by forgetting the least recently seen caller', () => {
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 1, maxCallers: 2, now: () => 0 });
    limiter.take('a');
    limiter.take('b');
    limiter.take('a');
    limiter.take('c');
    expect(limiter.callers).toBe(2);
    // a was seen more recently than b, so a is kept (still empty) and b starts again full.
    expect(limiter.take('a').allowed).toBe(false);
    expect(limiter.take('b').allowed).toBe(true);
  });

  it('refuses settings that would never let a request through', () => {
    expect(() => new RateLimiter({ ratePerSecond: 0, burst: 1 })).toThrow(/ratePerSecond/);
    expect(() => new RateLimiter({ ratePerSecond: 1, burst: 0 })).toThrow(/burst/);
  });
});
