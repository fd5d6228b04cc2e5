/**
 * The event envelope and its place on the topic. Events are CloudEvents 1.0; on Kafka they use
 * the CloudEvents Kafka protocol binding in binary content mode: attributes travel as `ce_*`
 * headers, `datacontenttype` as `content-type`, and the data alone is the record value. Any
 * CloudEvents-aware reader of the topic, not only our consumer, can read them back.
 */

export const SPEC_VERSION = '1.0';

export interface CloudEvent {
  specversion: typeof SPEC_VERSION;
  id: string;
  source: string;
  type: string;
  subject?: string;
  /** RFC 3339. */
  time: string;
  datacontenttype?: string;
  dataschema?: string;
  data?: unknown;
  /** Extension attributes (lower-case alphanumeric names), string-valued on the wire. */
  extensions?: Record<string, string>;
}

/** Headers as a Kafka client hands them over: Buffers (from the wire) or strings (from us). */
export type MessageHeaders = Record<string, Buffer | string | Array<Buffer | string> | undefined>;

/** A record as this project writes it; `timestamp` is the acceptance time, epoch ms as a string. */
export interface OutboundRecord {
  /** The partition key; null for an event with no order to keep (no subject, no `partitionkey`). */
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  timestamp: string;
}

export interface InboundRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers?: MessageHeaders;
  timestamp: string;
}

const HEADER_PREFIX = 'ce_';
const CONTENT_TYPE = 'content-type';
const CORE_ATTRIBUTES = ['specversion', 'id', 'source', 'type', 'subject', 'time', 'dataschema'] as const;
const OCTET_STREAM = 'application/octet-stream';
const EMPTY = Buffer.alloc(0);
const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json(?:\s*;.*)?$/i;

/**
 * The CloudEvents Auth Context extension: who sent the event. With API keys on, the producer sets
 * `authtype` to `api_key` and `authid` to the key's id (a short hash, never the key); a client can
 * set none of them, so `authid` tells callers apart wherever an event's identity matters.
 */
export const AUTH_CONTEXT_EXTENSIONS = { type: 'authtype', id: 'authid', claims: 'authclaims' } as const;

/** `application/avro`: data in the Confluent wire format, which only the producer writes. */
const AVRO_MEDIA_TYPE = /^application\/avro(?:\s*;.*)?$/i;

export function isAvroMediaType(contentType: string | undefined): boolean {
  return contentType !== undefined && AVRO_MEDIA_TYPE.test(contentType.trim());
}

export class EnvelopeError extends Error {
  override readonly name: string = 'EnvelopeError';
  /** A record that cannot be read will not become readable by retrying. */
  readonly retriable = false;
}

export function isJsonMediaType(contentType: string | undefined): boolean {
  return contentType === undefined || JSON_MEDIA_TYPE.test(contentType);
}

/**
 * The partition key: an explicit `partitionkey` extension, else the subject. An event with
 * neither has no order to keep among others, so it has no key: its partition is the producer's
 * choice (one per produce request, as Kafka's Java producer does for records without a key).
 */
export function partitionKeyOf(event: CloudEvent): string | null {
  return event.extensions?.partitionkey ?? event.subject ?? null;
}

/**
 * The record of an event in binary content mode. Extension attributes travel as `ce_<name>`
 * headers like the core ones; `datacontenttype` travels as `content-type` only. An event
 * without data gets an empty value, not null: a null value is a tombstone to a compacted topic,
 * and readers of the binding (the CloudEvents SDK's among them) refuse it.
 */
export function toKafkaRecord(event: CloudEvent, acceptedAt: number): OutboundRecord {
  const headers: Record<string, string> = {};
  for (const attribute of CORE_ATTRIBUTES) {
    const value = event[attribute];
    if (value !== undefined) headers[HEADER_PREFIX + attribute] = value;
  }
  for (const [name, value] of Object.entries(event.extensions ?? {})) headers[HEADER_PREFIX + name] = value;

  let value: Buffer = EMPTY;
  if (event.data !== undefined) {
    const contentType = event.datacontenttype ?? (Buffer.isBuffer(event.data) ? OCTET_STREAM : 'application/json');
    headers[CONTENT_TYPE] = contentType;
    value = Buffer.isBuffer(event.data)
      ? event.data
      : isJsonMediaType(contentType)
        ? Buffer.from(JSON.stringify(event.data))
        : Buffer.from(String(event.data));
  } else if (event.datacontenttype !== undefined) {
    headers[CONTENT_TYPE] = event.datacontenttype;
  }
  return { key: partitionKeyOf(event), value, headers, timestamp: String(acceptedAt) };
}

export interface DecodedRecord {
  event: CloudEvent;
  /** When the producer accepted the event (the record timestamp), epoch ms. */
  acceptedAt: number;
}

/**
 * The binding's headers of a record as text, by lower-case name, read in one pass: the
 * consumer's profile showed a look-up per attribute, each scanning every header for a
 * case-insensitive match when absent, among its costs per event. Header names are
 * case-insensitive in the binding (ours are lower-case, others' may not be); an exact lower-case
 * name wins over another spelling of it.
 */
function bindingHeaders(headers: MessageHeaders | undefined): Map<string, string> {
  const texts = new Map<string, string>();
  if (!headers) return texts;
  for (const name in headers) {
    const lower = name.toLowerCase();
    if (!lower.startsWith(HEADER_PREFIX) && lower !== CONTENT_TYPE) continue;
    if (lower !== name && texts.has(lower)) continue;
    const raw = headers[name];
    // KafkaJS reads a header written without a value (any producer may) as null.
    const first: unknown = Array.isArray(raw) ? raw[0] : raw;
    if (typeof first === 'string') texts.set(lower, first);
    else if (Buffer.isBuffer(first)) texts.set(lower, first.toString('utf8'));
  }
  return texts;
}

/** Reads a record back into a CloudEvent; throws EnvelopeError when it is not one. */
export function fromKafkaRecord(record: InboundRecord): DecodedRecord {
  const texts = bindingHeaders(record.headers);
  const required = (name: string): string => {
    const value = texts.get(HEADER_PREFIX + name);
    if (value === undefined || value === '') throw new EnvelopeError(`record has no ${HEADER_PREFIX}${name} header`);
    return value;
  };
  const specversion = required('specversion');
  if (specversion !== SPEC_VERSION) throw new EnvelopeError(`unsupported ${HEADER_PREFIX}specversion ${specversion}`);

  const event: CloudEvent = {
    specversion: SPEC_VERSION,
    id: required('id'),
    source: required('source'),
    type: required('type'),
    time: texts.get(HEADER_PREFIX + 'time') ?? new Date(Number(record.timestamp)).toISOString(),
  };
  const subject = texts.get(HEADER_PREFIX + 'subject');
  if (subject !== undefined) event.subject = subject;
  const dataschema = texts.get(HEADER_PREFIX + 'dataschema');
  if (dataschema !== undefined) event.dataschema = dataschema;

  let extensions: Record<string, string> | undefined;
  for (const [name, value] of texts) {
    if (name === CONTENT_TYPE) continue;
    const attribute = name.slice(HEADER_PREFIX.length);
    if ((CORE_ATTRIBUTES as readonly string[]).includes(attribute)) continue;
    (extensions ??= {})[attribute] = value;
  }
  if (extensions) event.extensions = extensions;

  const contentType = texts.get(CONTENT_TYPE);
  if (contentType !== undefined) event.datacontenttype = contentType;
  // No data is written as an empty value without a content type (older records: a null value).
  if (record.value !== null && (record.value.length > 0 || contentType !== undefined)) {
    if (isJsonMediaType(contentType)) {
      try {
        event.data = JSON.parse(record.value.toString('utf8'));
      } catch {
        throw new EnvelopeError(`record value is not the JSON its content-type ${contentType ?? '(none)'} says`);
      }
    } else {
      event.data = record.value;
    }
  }
  return { event, acceptedAt: Number(record.timestamp) };
}
