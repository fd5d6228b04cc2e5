import { DEAD_LETTER_HEADER_PREFIX, REDRIVE_HEADERS } from '../dead-letter-headers';
import { positionOf, totalAttempts, type DeadLetter } from './dead-letter';

/** A record as a redrive sends it back. */
export interface RedrivenRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string | Buffer>;
}

/**
 * The event as it was on its original topic: key, value and headers, without the dead-letter
 * headers, plus the redrive's own (when, from where, the attempts used up so far). The
 * CloudEvent id is the original's, so the consumer's de-duplication still knows it. The record
 * gets a new timestamp (the redrive's): lag and end-to-end latency then count from now, and a
 * redrive of old events raises no lag alert.
 */
export function redrivenRecord(deadLetter: DeadLetter, at: Date): RedrivenRecord {
  const headers: Record<string, string | Buffer> = {};
  for (const [name, raw] of Object.entries(deadLetter.headers)) {
    if (name.toLowerCase().startsWith(DEAD_LETTER_HEADER_PREFIX) || raw === undefined) continue;
    const first: unknown = Array.isArray(raw) ? raw[0] : raw;
    if (typeof first === 'string' || Buffer.isBuffer(first)) headers[name] = first;
  }
  headers[REDRIVE_HEADERS.at] = at.toISOString();
  headers[REDRIVE_HEADERS.from] = positionOf(deadLetter);
  headers[REDRIVE_HEADERS.attempts] = String(totalAttempts(deadLetter));
  return { key: deadLetter.key, value: deadLetter.value, headers };
}

/**
 * A redrive's note, kept as the metadata of its committed offset, before it sends the dead
 * letters of a partition from the committed offset up to `end`: where each target partition
 * ended just before. After a crash, the next run reads those target partitions from there and
 * finds which of the dead letters were written after all (by `dlq.redriven.from`).
 */
export interface PendingSend {
  end: bigint;
  /** Target topic → partition → high watermark before the send. */
  targets: Record<string, Record<string, string>>;
}

const VERSION = 1;

export function encodePendingSend(pending: PendingSend): string {
  return JSON.stringify({ v: VERSION, end: String(pending.end), targets: pending.targets });
}

/** Undefined for an empty or foreign note (none pending). */
export function decodePendingSend(metadata: string | null | undefined): PendingSend | undefined {
  if (!metadata) return undefined;
  try {
    const parsed = JSON.parse(metadata) as { v?: unknown; end?: unknown; targets?: unknown };
    if (parsed.v !== VERSION || typeof parsed.end !== 'string' || typeof parsed.targets !== 'object') {
      return undefined;
    }
    return { end: BigInt(parsed.end), targets: parsed.targets as PendingSend['targets'] };
  } catch {
    return undefined;
  }
}
