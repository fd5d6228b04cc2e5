import { setTimeout as sleep } from 'node:timers/promises';
import type { Type } from 'avsc';
import {
  checkAvroBounds,
  EnvelopeError,
  errorMessage,
  isAvroMediaType,
  SchemaNotFoundError,
  SchemaRegistryUnavailableError,
  WIRE_HEADER_BYTES,
  wireSchemaId,
  type CloudEvent,
  type Logger,
  type SchemaRegistryClient,
  type SchemaRegistryMetrics,
} from '@event-pipeline/common';

/** The schema an event's data was written with, as the handler sees it. */
export interface DataSchemaRef {
  /** The registry's id of the schema (the one in the wire format). */
  id: number;
  /** The subject (the event type) and its version that hold the schema. */
  subject: string;
  version: number;
}

/** A schema id as the registry holds it: where it is registered, and its avsc type. */
interface KnownSchema {
  id: number;
  versions: Array<{ subject: string; version: number }>;
  type: Type;
  /** When `versions` was read; a mismatch reads it again at most once per RECHECK_SUBJECTS_MS. */
  checkedAt: number;
}

const RECHECK_SUBJECTS_MS = 10_000;

/** A record whose data cannot be decoded: its bytes are not what they claim, or its schema does not exist. */
export class UndecodableDataError extends EnvelopeError {}

export interface DataDecoder {
  /**
   * Replaces the Avro data of an event (content-type application/avro, Confluent wire format)
   * with the plain object it encodes and says which schema that was; other events are left as
   * they are (undefined). Throws UndecodableDataError (not retriable) for bytes that do not
   * decode, would decode to more than their size allows (see checkAvroBounds), or name a schema
   * id the registry does not have or does not hold under the event's type. While the registry cannot be reached it
   * waits, retrying with backoff, until it answers or `signal` aborts.
   */
  decode(
    event: CloudEvent,
    options: { signal: AbortSignal; stillOwned: () => void },
  ): Promise<DataSchemaRef | undefined>;
}

export interface DataDecoderOptions {
  client: SchemaRegistryClient;
  metrics: SchemaRegistryMetrics;
  logger: Logger;
  /** Waits between attempts while the registry is unreachable grow from this ... */
  initialDelayMs: number;
  /** ... to this. */
  maxDelayMs: number;
}

export function createDataDecoder({
  client,
  metrics,
  logger,
  initialDelayMs,
  maxDelayMs,
}: DataDecoderOptions): DataDecoder {
  const log = logger.child({ component: 'schema-registry' });
  /** Schema ids known, with the subjects and versions that hold them; a schema never changes under its id. */
  const known = new Map<number, KnownSchema>();

  const schemaOf = async (id: number): Promise<KnownSchema> => {
    const cached = known.get(id);
    if (cached) {
      metrics.lookups.inc({ outcome: 'hit' });
      return cached;
    }
    try {
      const [{ format }, versions] = await Promise.all([client.schema(id), client.schemaVersions(id)]);
      if (format !== 'avro') throw new UndecodableDataError(`schema ${id} is a ${format} schema, not Avro`);
      const schema: KnownSchema = { id, versions, type: await client.avroType(id), checkedAt: Date.now() };
      known.set(id, schema);
      metrics.lookups.inc({ outcome: 'miss' });
      return schema;
    } catch (error) {
      metrics.lookups.inc({ outcome: 'error' });
      if (error instanceof SchemaNotFoundError) {
        throw new UndecodableDataError(`the record's schema id ${id} is not in the schema registry`, { cause: error });
      }
      throw error;
    }
  };

  const decodeOnce = async (event: CloudEvent, value: Buffer): Promise<DataSchemaRef> => {
    const id = wireSchemaId(value);
    if (id === undefined) {
      throw new UndecodableDataError(
        value.length < WIRE_HEADER_BYTES
          ? `the Avro value has ${value.length} bytes, fewer than the 5 of the wire format's header`
          : `the Avro value starts with byte ${value[0]}, not the wire format's magic byte 0`,
      );
    }
    const schema = await schemaOf(id);
    // Only a schema of the event's own type: the id is the record's word, and any other schema
    // (one with an array, say) would read its bytes as something else entirely.
    let own = schema.versions.find((version) => version.subject === event.type);
    if (!own && schema.checkedAt < Date.now() - RECHECK_SUBJECTS_MS) {
      // The same schema may have been registered under this type since it was fetched.
      schema.versions = await client.schemaVersions(id);
      schema.checkedAt = Date.now();
      own = schema.versions.find((version) => version.subject === event.type);
    }
    if (!own) {
      const holders = schema.versions.map((version) => version.subject).join(', ') || 'no subject';
      throw new UndecodableDataError(
        `the record's schema id ${id} is not a schema of its type ${event.type} (it belongs to ${holders})`,
      );
    }
    const payload = value.subarray(WIRE_HEADER_BYTES);
    try {
      checkAvroBounds(schema.type, payload);
      event.data = plain(schema.type.fromBuffer(payload));
    } catch (error) {
      throw new UndecodableDataError(`the value does not decode with schema ${id}: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    return { id, subject: own.subject, version: own.version };
  };

  return {
    async decode(event, { signal, stillOwned }) {
      if (!isAvroMediaType(event.datacontenttype)) return undefined;
      const value = event.data;
      if (!Buffer.isBuffer(value)) throw new UndecodableDataError('the record says application/avro but has no value');
      let delayMs = initialDelayMs;
      for (let attempt = 1; ; attempt++) {
        try {
          return await decodeOnce(event, value);
        } catch (error) {
          if (!(error instanceof SchemaRegistryUnavailableError)) throw error;
          // Not the event's fault: it waits (its partition with it) and nothing is dead-lettered.
          log.warn(
            { event_id: event.id, attempt, retry_in_ms: delayMs, err: errorMessage(error) },
            'schema registry unreachable; the event waits',
          );
          await sleep(delayMs, undefined, { signal });
          stillOwned();
          delayMs = Math.min(maxDelayMs, delayMs * 2);
        }
      }
    },
  };
}

/** avsc's records are instances of generated classes; the handler gets plain objects and arrays. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value) || value instanceof Date) return value;
  const result: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) result[key] = plain(field);
  return result;
}
