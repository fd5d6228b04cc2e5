import type { InboundRecord, MessageHeaders } from '@event-pipeline/common';
import type { HeartbeatKeeper } from './heartbeat-keeper';

/** A consumed record with its position. */
export interface InboundMessage extends InboundRecord {
  topic: string;
  partition: number;
  offset: string;
  headers: MessageHeaders;
}

export interface MessageControl {
  /**
   * The group still knows us: the source heartbeats while the message's batch is worked on (a
   * slow handler, backoffs, a dead-letter write) and `check()` throws once that failed.
   */
  membership: HeartbeatKeeper;
}

/**
 * A stream of messages with at-least-once semantics: a message counts as done only when
 * `onMessage` returns (a value, or a promise that resolves); when it throws or rejects, it
 * comes again. An offset is committed only when every
 * message up to it is done. Several messages may be in hand at once, but never two of one key.
 */
export interface MessageSource {
  /** Connects (retrying until `signal` aborts) and starts delivering messages. */
  start(
    onMessage: (message: InboundMessage, control: MessageControl) => void | Promise<void>,
    signal?: AbortSignal,
  ): Promise<void>;
  stop(): Promise<void>;
  readiness(): { ready: boolean; reason?: string };
}

export interface DeadLetterReason {
  error: unknown;
  attempts: number;
  failedAt: Date;
}

/** Where events go that the handler could not process. Resolves once the write is acknowledged. */
export interface DeadLetterSink {
  /** The dead-letter topic (the name of the write's span). */
  readonly topic: string;
  /** Writes the copy; the trace context active at the call goes into its headers. */
  publish(message: InboundMessage, reason: DeadLetterReason): Promise<void>;
}
