import { LRUCache } from 'lru-cache';
import { AUTH_CONTEXT_EXTENSIONS, type CloudEvent } from '@event-pipeline/common';

/**
 * What identifies an event in CloudEvents: `source` and `id` together, both chosen by the
 * client; and, with API keys on, the caller the producer stamped (`authid`), so that one caller
 * cannot make another's events look like duplicates of its own.
 */
export type EventIdentity = Pick<CloudEvent, 'source' | 'id' | 'extensions'>;

export interface RecentlyProcessedOptions {
  /** Most events remembered; past it the oldest is forgotten first. Bounds the memory. */
  maxEntries: number;
  /** How long an event is remembered; 0 keeps it until newer ones push it out. */
  maxAgeMs: number;
  /** Clock, epoch ms (tests). */
  now?: () => number;
}

/** How an event was finished: handled, or dead-lettered after its attempts. */
export type FinishedAs = 'handled' | 'dead_lettered';

/**
 * The events this instance finished lately (handled or dead-lettered), so that a duplicate of
 * one (a client's retry, a producer's resend) can be dropped instead of handled twice. It is a
 * window, not a ledger: it lives in this process only and forgets the oldest first. It keeps how
 * each was finished, so that a redriven copy of a dead-lettered event is handled, not dropped.
 */
export interface RecentlyProcessed {
  has(event: EventIdentity): boolean;
  /** How the event was finished, if it is remembered. */
  finishedAs(event: EventIdentity): FinishedAs | undefined;
  /** Remembers the event; `handled` unless said otherwise. */
  add(event: EventIdentity, as?: FinishedAs): void;
  readonly size: number;
}

// Length-prefixed, so that no (caller, source, id) can collide with another whatever they contain.
const keyOf = ({ source, id, extensions }: EventIdentity): string => {
  const caller = extensions?.[AUTH_CONTEXT_EXTENSIONS.id] ?? '';
  return `${caller.length}:${caller}${source.length}:${source}${id}`;
};

export function createRecentlyProcessed({ maxEntries, maxAgeMs, now }: RecentlyProcessedOptions): RecentlyProcessed {
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new Error(`maxEntries must be a positive integer, not ${maxEntries}; leave the window out to turn it off`);
  }
  if (!Number.isInteger(maxAgeMs) || maxAgeMs < 0) {
    throw new Error(`maxAgeMs must be 0 (no age limit) or a positive integer, not ${maxAgeMs}`);
  }
  const cache = new LRUCache<string, FinishedAs>({
    max: maxEntries,
    // ttlResolution 0: read the clock on every check rather than cache it behind a timer.
    ...(maxAgeMs > 0 ? { ttl: maxAgeMs, ttlResolution: 0 } : {}),
    ...(now ? { perf: { now } } : {}),
  });
  return {
    has: (event) => cache.has(keyOf(event)),
    finishedAs: (event) => cache.peek(keyOf(event)),
    add: (event, as = 'handled') => void cache.set(keyOf(event), as),
    get size() {
      return cache.size;
    },
  };
}
