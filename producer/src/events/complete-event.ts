import { randomUUID } from 'node:crypto';
import { SPEC_VERSION, type CloudEvent } from '@event-pipeline/common';
import { idempotentEventId } from './idempotency';
import type { EventCandidate } from './validate';

export interface CompletionContext {
  /** `source` of events that name none (plain mode). */
  source: string;
  /** Acceptance time (RFC 3339, written once per request): `time` of events that carry none. */
  time: string;
  /** With an Idempotency-Key, events without an id get ids derived from it and their index. */
  idempotency?: { scope: string; key: string };
}

/** Completes a checked event into a CloudEvent: an id, a source and a time where it has none. */
export function completeEvent(candidate: EventCandidate, index: number, context: CompletionContext): CloudEvent {
  const { idempotency } = context;
  const id =
    candidate.id ?? (idempotency ? idempotentEventId(idempotency.scope, idempotency.key, index) : randomUUID());
  const event: CloudEvent = {
    specversion: SPEC_VERSION,
    id,
    source: candidate.source ?? context.source,
    type: candidate.type,
    time: candidate.time ?? context.time,
  };
  if (candidate.subject !== undefined) event.subject = candidate.subject;
  if (candidate.dataschema !== undefined) event.dataschema = candidate.dataschema;
  // Without a datacontenttype, the Kafka record says what its data is (toKafkaRecord: JSON, or
  // application/octet-stream for bytes).
  if (candidate.datacontenttype !== undefined) event.datacontenttype = candidate.datacontenttype;
  if (candidate.data !== undefined) event.data = candidate.data;
  if (candidate.extensions !== undefined) event.extensions = candidate.extensions;
  return event;
}
