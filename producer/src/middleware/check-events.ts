import type { Middleware } from 'koa';
import { toKafkaRecord, type CloudEvent, type OutboundRecord } from '@event-pipeline/common';
import { completeEvent, type CompletionContext } from '../events/complete-event';
import { MAX_LISTED_ERRORS, type DataSchemas } from '../events/data-schemas';
import { itemLocation } from '../events/read-events';
import { problems, type FieldError } from '../problem';
import type { CallerState, CheckedState, CountIngested, ReadState } from './ingest-state';

export interface CheckEventsOptions {
  schemas: DataSchemas;
  /** Refuse (422) events whose type has no schema. */
  schemasRequired: boolean;
  /** `source` of events that name none. */
  eventSource: string;
  count: CountIngested;
}

/**
 * Completes each event (id, source, time), checks its data against its type's schema and turns
 * it into a Kafka record. One failing event refuses the whole request (422 naming every failing
 * item), counted as `invalid`, as many events as it tried to send.
 */
export function checkEvents({
  schemas,
  schemasRequired,
  eventSource,
  count,
}: CheckEventsOptions): Middleware<CallerState & ReadState & CheckedState> {
  return function checkRequestEvents(ctx, next) {
    const { state } = ctx;
    try {
      const { request, idempotencyKey } = state;
      const acceptedAt = new Date();
      const completion: CompletionContext = {
        source: eventSource,
        time: acceptedAt.toISOString(),
        // Idempotent ids are scoped per API key; without keys one scope for all, so a retry from
        // another address (a new network, another proxy) still gets the same ids.
        ...(idempotencyKey !== '' ? { idempotency: { scope: state.caller ?? 'anonymous', key: idempotencyKey } } : {}),
      };
      const errors: FieldError[] = [];
      const check = { required: schemasRequired, errors };
      const events: CloudEvent[] = [];
      for (let index = 0; index < request.events.length; index++) {
        const event = completeEvent(request.events[index]!, index, completion);
        schemas.check(event, itemLocation(request, index), check);
        events.push(event);
      }
      if (errors.length > 0) throw problems.schemaViolation(errors.slice(0, MAX_LISTED_ERRORS), errors.length);
      const acceptedMs = acceptedAt.getTime();
      const records: OutboundRecord[] = [];
      const ids: string[] = [];
      for (const event of events) {
        records.push(toKafkaRecord(event, acceptedMs));
        ids.push(event.id);
      }
      state.records = records;
      state.ids = ids;
    } catch (error) {
      count('invalid', state.received);
      throw error;
    }
    return next();
  };
}
