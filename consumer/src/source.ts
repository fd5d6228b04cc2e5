import type { InboundRecord, MessageHeaders } from '@event-pipeline/common';

/** A consumed record with its position. */
export interface InboundMessage extends InboundRecord {
  topic: string;
  partition: number;
  offset: string;
  headers: MessageHeaders;
}

export interface MessageControl {
  /** Tells the group this member is alive; call it during long work (the worker does between attempts). */
  heartbeat(): Promise<void>;
}

/**
 * A stream of messages with at-least-once semantics: a message counts as done (and its offset
 * may be committed) only when `onMessage` resolves; when it rejects, the message comes again.
 */
export interface MessageSource {
  /** Connects (retrying until `signal` aborts) and starts delivering messages. */
  start(
    onMessage: (message: InboundMessage, control: MessageControl) => Promise<void>,
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
  publish(message: InboundMessage, reason: DeadLetterReason): Promise<void>;
}
