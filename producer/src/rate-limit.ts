import ipaddr from 'ipaddr.js';

/**
 * Token buckets per caller, in this process's memory: each caller may send `burst` requests at
 * once and `ratePerSecond` on average. Memory is bounded: past `maxCallers`, the least recently
 * seen caller is forgotten, which only lets it start again with a full bucket.
 */
export interface RateLimitOptions {
  ratePerSecond: number;
  burst: number;
  maxCallers?: number;
  now?: () => number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  updated: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly ratePerMs: number;
  private readonly burst: number;
  private readonly maxCallers: number;
  private readonly now: () => number;

  constructor({ ratePerSecond, burst, maxCallers = 100_000, now = () => performance.now() }: RateLimitOptions) {
    if (!(ratePerSecond > 0)) throw new Error(`RateLimiter: ratePerSecond must be above 0, got ${ratePerSecond}`);
    if (!(burst >= 1)) throw new Error(`RateLimiter: burst must be at least 1, got ${burst}`);
    this.ratePerMs = ratePerSecond / 1000;
    this.burst = burst;
    this.maxCallers = maxCallers;
    this.now = now;
  }

  /** Takes one token from `caller`'s bucket, or says how long until one is there. */
  take(caller: string): RateDecision {
    return this.decide(caller, true);
  }

  /** Whether `caller` has a token, without taking it. */
  check(caller: string): RateDecision {
    return this.decide(caller, false);
  }

  private decide(caller: string, take: boolean): RateDecision {
    const now = this.now();
    const bucket = this.buckets.get(caller) ?? { tokens: this.burst, updated: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.updated) * this.ratePerMs);
    bucket.updated = now;
    // Re-inserting keeps the map in least-recently-seen order.
    this.buckets.delete(caller);
    this.buckets.set(caller, bucket);
    if (this.buckets.size > this.maxCallers) this.forgetOldest();
    if (bucket.tokens >= 1) {
      if (take) bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.ratePerMs / 1000)) };
  }

  get callers(): number {
    return this.buckets.size;
  }

  private forgetOldest(): void {
    for (const caller of this.buckets.keys()) {
      if (this.buckets.size <= this.maxCallers) return;
      this.buckets.delete(caller);
    }
  }
}

/**
 * The bucket of a client address. An IPv6 client is usually given a whole /64 and may pick any
 * address in it, so one bucket per address would let it have 2^64 buckets: its /64 is the
 * client. IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`, as a dual-stack socket reports IPv4
 * peers) are the IPv4 client they map.
 */
export function addressBucket(address: string): string {
  if (!ipaddr.isValid(address)) return `address:${address}`;
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv4') return `address:${parsed.toString()}`;
  const network = new ipaddr.IPv6([...(parsed as ipaddr.IPv6).parts.slice(0, 4), 0, 0, 0, 0]);
  return `address:${network.toString()}/64`;
}
