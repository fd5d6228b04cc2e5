import { inspect } from 'node:util';

/** The message of anything thrown, for logs and headers. Never throws (cycles, BigInt, getters). */
export function errorMessage(error: unknown): string {
  try {
    if (error instanceof Error) {
      // Aggregates (KafkaJS's topic-creation errors, AggregateError) carry the useful part inside.
      const inner = (error as { errors?: unknown }).errors;
      const details = Array.isArray(inner) ? inner.map((item) => errorMessage(item)).filter(Boolean) : [];
      return details.length > 0 ? `${error.message}: ${details.join('; ')}` : String(error.message);
    }
    if (typeof error === 'string') return error;
    return inspect(error, { depth: 2, breakLength: Infinity });
  } catch {
    return 'unprintable error';
  }
}

/** The class name of anything thrown (`Error`, `TypeError`, `KafkaJSConnectionError`, ...). */
export function errorName(error: unknown): string {
  try {
    return error instanceof Error ? String(error.name) : typeof error;
  } catch {
    return 'unknown';
  }
}
