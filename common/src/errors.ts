import { inspect } from 'node:util';

/**
 * The base of the project's errors. Each says whether another attempt may help, as KafkaJS's
 * errors do, and the one rule for trying again (isRetriable) reads that, not the error's name.
 * One the producer's HTTP edge answers as it is (a Problem) says with which status.
 */
export abstract class PipelineError extends Error {
  /** Whether trying again may succeed. */
  abstract readonly retriable: boolean;
  /** The HTTP status the producer's edge answers with; only on errors that are answers. */
  declare readonly status?: number;

  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    // The class's own name (ConfigError, ...): what logs, spans and dead letters show.
    this.name = new.target.name;
  }
}

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
