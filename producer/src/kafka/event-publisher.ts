import { PipelineError, type OutboundRecord } from '@event-pipeline/common';

/**
 * Why a publish was refused; the HTTP edge turns each into its answer. `too-large`: record
 * `index` takes `size` bytes, more than one produce request carries (`limit`). `unavailable`:
 * Kafka cannot take events now and may soon (not ready, shutting down, a send that failed in a
 * way another attempt may cure); `failed`: Kafka refused the events for good (see isRetriable).
 */
export type PublishFailure =
  | { failure: 'too-large'; index: number; size: number; limit: number }
  | { failure: 'unavailable' | 'overloaded' | 'timeout' | 'failed' };

export class PublishError extends PipelineError {
  /** Kafka may take the events soon; not when they are too large, or were refused for good. */
  readonly retriable: boolean;
  constructor(
    readonly reason: PublishFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.retriable = reason.failure !== 'too-large' && reason.failure !== 'failed';
  }
}

export interface Readiness {
  ready: boolean;
  /** Why not, in full (Kafka's own words): for the log. */
  reason?: string;
  /** Why not, in words anyone may read (no addresses, no errors); `kafka unavailable` when absent. */
  publicReason?: string;
}

/** What the HTTP side needs from Kafka; nothing else of the client leaks past this folder. */
export interface EventPublisher {
  /**
   * Resolves once Kafka acknowledged every record (acks=all); rejects with PublishError. Writes
   * each event's trace context into its record's headers.
   */
  publish(records: OutboundRecord[]): Promise<void>;
  readiness(): Readiness;
}
