import { setTimeout as sleep } from 'node:timers/promises';
import {
  EnvelopeError,
  errorMessage,
  SchemaNotFoundError,
  SchemaRegistryUnavailableError,
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

/** A record whose data cannot be decoded: its bytes are not what they claim, or its schema does not exist. */
export class UndecodableDataError extends EnvelopeError {
  override readonly name: string = 'UndecodableDataError';
}

const AVRO_MEDIA_TYPE = /^application\/avro(?:\s*;.*)?$/i;

export function isAvroMediaType(contentType: string | undefined): boolean {
  return contentType !== undefined && AVRO_MEDIA_TYPE.test(contentType);
}

export interface DataDecoder {
  /**
   * Replaces the Avro data of an event (content-type application/avro, Confluent wire format)
   * with the plain object it encodes and says which schema that was; other events are left as
   * they are (undefined). Throws UndecodableDataError (not retriable) for bytes that do not
   * decode or a schema id the registry does not have. While the registry cannot be reached it
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
  /** Schema ids known, with where they are; a schema never changes under its id. */
  const known = new Map<number, DataSchemaRef>();

  const schemaOf = async (id: number): Promise<DataSchemaRef> => {
    const cached = known.get(id);
    if (cached) {
      metrics.lookups.inc({ outcome: 'hit' });
      return cached;
    }
    try {
      const [{ format }, versions] = await Promise.all([client.schema(id), client.schemaVersions(id)]);
      if (format !== 'avro') throw new UndecodableDataError(`schema ${id} is a ${format} schema, not Avro`);
      // Fetched into the codec's cache, so the decoding needs no call.
      await client.avroType(id);
      const first = versions[0];
      const ref: DataSchemaRef = { id, subject: first?.subject ?? '', version: first?.version ?? 0 };
      known.set(id, ref);
      metrics.lookups.inc({ outcome: 'miss' });
      return ref;
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
        value.length < 5
          ? `the Avro value has ${value.length} bytes, fewer than the 5 of the wire format's header`
          : `the Avro value starts with byte ${value[0]}, not the wire format's magic byte 0`,
      );
    }
    const ref = await schemaOf(id);
    try {
      event.data = plain(await client.decode(value));
    } catch (error) {
      throw new UndecodableDataError(`the value does not decode with schema ${id}: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    return ref;
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
