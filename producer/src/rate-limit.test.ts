import { addressBucket, RateLimiter } from './rate-limit';

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

// Issue 29: every IPv6 address was a bucket of its own, and a client holds a whole /64 of them.
describe('addressBucket', () => {
  it.each([
    ['an IPv4 address', '192.0.2.1', 'address:192.0.2.1'],
    ['an IPv4-mapped IPv6 address, as a dual-stack socket reports IPv4', '::ffff:192.0.2.1', 'address:192.0.2.1'],
    ['an IPv6 address', '2001:db8:1:2:aaaa:bbbb:cccc:dddd', 'address:2001:db8:1:2::/64'],
    ['another address of the same /64', '2001:db8:1:2::1', 'address:2001:db8:1:2::/64'],
    ['an address of the next /64', '2001:db8:1:3::1', 'address:2001:db8:1:3::/64'],
    ['the loopback', '::1', 'address:::/64'],
    ['something that is no address', 'unknown', 'address:unknown'],
  ])('buckets %s by itself or its /64', (_, address, bucket) => {
    expect(addressBucket(address)).toBe(bucket);
  });
});

describe('RateLimiter.check', () => {
  it('says whether a token is there without taking it', () => {
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 1, now: () => 0 });
    expect(limiter.check('a')).toEqual({ allowed: true });
    expect(limiter.check('a')).toEqual({ allowed: true });
    limiter.take('a');
    expect(limiter.check('a')).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });
});
