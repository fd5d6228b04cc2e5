import type { Middleware } from 'koa';
import {
  AUTH_CONTEXT_EXTENSIONS,
  SchemaRegistryUnavailableError,
  toKafkaRecord,
  type CloudEvent,
  type OutboundRecord,
} from '@event-pipeline/common';
import { completeEvent, type CompletionContext } from '../events/complete-event';
import { MAX_LISTED_ERRORS, type CompiledSchema, type DataSchemas, type SchemaCatalog } from '../events/data-schemas';
import { itemLocation } from '../events/read-events';
import { problems, type FieldError } from '../problem';
import type { CallerState, CheckedState, ReadState } from './ingest-state';

/** The media type of a record whose value is Avro in the Confluent wire format. */
export const AVRO_MEDIA_TYPE = 'application/avro';

export interface CheckEventsOptions {
  schemas: SchemaCatalog;
  /** Refuse (422) events whose type has no schema. */
  schemasRequired: boolean;
  /** `source` of events that name none. */
  eventSource: string;
  /** Retry-After of the 503 when a type's schema cannot be looked up. */
  retryAfterSeconds: number;
}

/**
 * Completes each event (id, source, time), checks its data against its type's schema and turns
 * it into a Kafka record; data of an Avro type becomes Avro in the wire format. One failing
 * event refuses the whole request (422 naming every failing item), counted as `invalid`, as
 * many events as it tried to send. A type whose schema is not known and cannot be looked up
 * (the registry is unreachable) refuses it with 503 and Retry-After, counted as `failed`.
 */
export function checkEvents({
  schemas: catalog,
  schemasRequired,
  eventSource,
  retryAfterSeconds,
}: CheckEventsOptions): Middleware<CallerState & ReadState & CheckedState> {
  return async function checkRequestEvents(ctx, next) {
    const { state } = ctx;
    let schemas: DataSchemas;
    try {
      schemas = await catalog.forTypes(new Set(state.request.events.map((event) => event.type)));
    } catch (error) {
      if (!(error instanceof SchemaRegistryUnavailableError)) throw error;
      throw problems.schemaRegistryUnavailable(
        retryAfterSeconds,
        `the schema of an event type of this request is not known yet and the schema registry cannot be reached (${error.message})`,
      );
    }
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
    const toEncode: Array<[CloudEvent, CompiledSchema]> = [];
    for (let index = 0; index < request.events.length; index++) {
      const event = completeEvent(request.events[index]!, index, completion);
      if (state.keyId !== undefined) {
        // Who sent it, where the client cannot forge it: the consumer's de-duplication keys
        // by it, so one caller reusing another's source and id cannot get its events dropped.
        event.extensions = {
          ...event.extensions,
          [AUTH_CONTEXT_EXTENSIONS.type]: 'api_key',
          [AUTH_CONTEXT_EXTENSIONS.id]: state.keyId,
        };
      }
      const schema = schemas.check(event, itemLocation(request, index), check);
      if (schema?.encode) toEncode.push([event, schema]);
      events.push(event);
    }
    if (errors.length > 0) throw problems.schemaViolation(errors.slice(0, MAX_LISTED_ERRORS), errors.length);
    // Checked data encodes from the codec's cache: no registry call here.
    for (const [event, schema] of toEncode) {
      event.data = await schema.encode!(event.data);
      event.datacontenttype = AVRO_MEDIA_TYPE;
    }
    const acceptedMs = acceptedAt.getTime();
    const records: OutboundRecord[] = [];
    const ids: string[] = [];
    for (const event of events) {
      records.push(toKafkaRecord(event, acceptedMs));
      ids.push(event.id);
    }
    state.records = records;
    state.ids = ids;
    return next();
  };
}
