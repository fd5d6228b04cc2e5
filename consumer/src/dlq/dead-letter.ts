import type { KafkaMessage } from 'kafkajs';
import { errorMessage, fromKafkaRecord, type CloudEvent, type MessageHeaders } from '@event-pipeline/common';
import { DEAD_LETTER_HEADERS, REDRIVE_HEADERS } from '../dead-letter-headers';

/** A record of the dead-letter topic, read back: the event, why it failed, where it came from. */
export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** As read from Kafka (Buffers). */
  headers: MessageHeaders;
  /** The first value of each header, as UTF-8 text. */
  headerText: Record<string, string>;
  /** The dead-letter record's own timestamp, epoch ms as a string. */
  timestamp: string;
  /** Undefined when the record is no CloudEvent (`unreadable` says why). */
  event: CloudEvent | undefined;
  unreadable: string | undefined;
  error: { name: string; message: string };
  attempts: number | undefined;
  original: { topic: string | undefined; partition: number | undefined; offset: string | undefined };
  /** `dlq.failed.at`, else the record's timestamp. */
  failedAt: Date;
  /** From the W3C `traceparent` header, if there is one. */
  traceId: string | undefined;
}

/** `<topic>/<partition>/<offset>`: how a dead letter is named, in `dlq.redriven.from` too. */
export function positionOf({ topic, partition, offset }: Pick<DeadLetter, 'topic' | 'partition' | 'offset'>): string {
  return `${topic}/${partition}/${offset}`;
}

/** Header values as text; a header without a value (null on the wire, which any producer may write) is left out. */
export function headersAsText(headers: MessageHeaders | undefined): Record<string, string> {
  const text: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const first: unknown = Array.isArray(raw) ? raw[0] : raw;
    if (typeof first === 'string' || Buffer.isBuffer(first)) text[name] = first.toString('utf8');
  }
  return text;
}

const integer = (text: string | undefined): number | undefined =>
  text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;

export function readDeadLetter(topic: string, partition: number, message: KafkaMessage): DeadLetter {
  const headers = (message.headers ?? {}) as MessageHeaders;
  const text = headersAsText(headers);
  let event: CloudEvent | undefined;
  let unreadable: string | undefined;
  try {
    event = fromKafkaRecord({ key: message.key, value: message.value, headers, timestamp: message.timestamp }).event;
  } catch (error) {
    unreadable = errorMessage(error);
  }
  const failedAt = new Date(text[DEAD_LETTER_HEADERS.failedAt] ?? Number(message.timestamp));
  const attempts = integer(text[DEAD_LETTER_HEADERS.attempts]);
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    headers,
    headerText: text,
    timestamp: message.timestamp,
    event,
    unreadable,
    error: {
      name: text[DEAD_LETTER_HEADERS.errorName] ?? 'unknown',
      message: text[DEAD_LETTER_HEADERS.errorMessage] ?? '',
    },
    attempts,
    original: {
      topic: text[DEAD_LETTER_HEADERS.originalTopic],
      partition: integer(text[DEAD_LETTER_HEADERS.originalPartition]),
      offset: text[DEAD_LETTER_HEADERS.originalOffset],
    },
    failedAt: Number.isNaN(failedAt.getTime()) ? new Date(Number(message.timestamp)) : failedAt,
    traceId: /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/.exec(text.traceparent ?? '')?.[1],
  };
}

/**
 * The attempts an event has used up over all its rounds: this dead letter's, plus those a
 * redrive carried over from earlier ones.
 */
export function totalAttempts(deadLetter: DeadLetter): number {
  return (deadLetter.attempts ?? 0) + (integer(deadLetter.headerText[REDRIVE_HEADERS.attempts]) ?? 0);
}
