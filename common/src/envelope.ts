/**
 * The event envelope and its place on the topic. Events are CloudEvents 1.0; on Kafka they use
 * the CloudEvents Kafka protocol binding in binary content mode: attributes travel as `ce_*`
 * headers, `datacontenttype` as `content-type`, and the data alone is the record value. Any
 * CloudEvents-aware reader of the topic, not only our consumer, can read them back.
 */
import { PipelineError } from './errors';

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

export class EnvelopeError extends PipelineError {
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

/** Where each header of the binding's own goes, by its lower-case name: a core attribute's slot, or the content type's. */
const SLOT_OF = new Map<string, number>([
  ...CORE_ATTRIBUTES.map((attribute, slot): [string, number] => [HEADER_PREFIX + attribute, slot]),
  [CONTENT_TYPE, CORE_ATTRIBUTES.length],
]);
const SLOT = Object.fromEntries(SLOT_OF) as Record<
  `${typeof HEADER_PREFIX}${(typeof CORE_ATTRIBUTES)[number]}` | typeof CONTENT_TYPE,
  number
>;
/** 'c' and 'C': every name of the binding (`ce_*`, `content-type`) starts with one. */
const LOWER_C = 0x63;
const UPPER_C = 0x43;
const UPPER_CASE = /[A-Z]/;

/** The binding's attributes of a record as text: the core ones and the content type by slot, the extensions by name. */
interface BindingTexts {
  slots: Array<string | undefined>;
  extensions: Record<string, string> | undefined;
}

/** A header's value as text; KafkaJS reads a header written without a value (any producer may) as null. */
function headerText(raw: MessageHeaders[string]): string | undefined {
  const first: unknown = Array.isArray(raw) ? raw[0] : raw;
  if (typeof first === 'string') return first;
  // toString() without arguments: UTF-8, and Node's shortest path to it (no encoding to look up).
  return Buffer.isBuffer(first) ? first.toString() : undefined;
}

/** Puts one header of the binding in its place; `respelled`: its name was not lower-case, so it yields to one that was. */
function place(texts: BindingTexts, lower: string, text: string, respelled: boolean): void {
  const slot = SLOT_OF.get(lower);
  if (slot !== undefined) {
    if (!respelled || texts.slots[slot] === undefined) texts.slots[slot] = text;
    return;
  }
  if (!lower.startsWith(HEADER_PREFIX)) return;
  const attribute = lower.slice(HEADER_PREFIX.length);
  const extensions = (texts.extensions ??= {});
  if (!respelled || !Object.hasOwn(extensions, attribute)) extensions[attribute] = text;
}

/**
 * The binding's headers of a record as text, read in one pass and put straight where they
 * belong (the consumer's profile showed the per-attribute look-ups, then a map of every header
 * as text walked again for extensions, among its costs per event). Header names are
 * case-insensitive in the binding (ours are lower-case, others' may not be); an exact lower-case
 * name wins over another spelling of it, whatever their order.
 */
function bindingTexts(headers: MessageHeaders | undefined): BindingTexts {
  const texts: BindingTexts = {
    slots: new Array<string | undefined>(CORE_ATTRIBUTES.length + 1),
    extensions: undefined,
  };
  if (!headers) return texts;
  let respelled: string[] | undefined;
  for (const name in headers) {
    const first = name.charCodeAt(0);
    if (first !== LOWER_C && first !== UPPER_C) continue;
    if (UPPER_CASE.test(name)) {
      (respelled ??= []).push(name);
      continue;
    }
    const text = headerText(headers[name]);
    if (text !== undefined) place(texts, name, text, false);
  }
  for (const name of respelled ?? []) {
    const text = headerText(headers[name]);
    if (text !== undefined) place(texts, name.toLowerCase(), text, true);
  }
  return texts;
}

/** Reads a record back into a CloudEvent; throws EnvelopeError when it is not one. */
export function fromKafkaRecord(record: InboundRecord): DecodedRecord {
  const { slots, extensions } = bindingTexts(record.headers);
  const required = (slot: number): string => {
    const value = slots[slot];
    if (value === undefined || value === '') {
      throw new EnvelopeError(`record has no ${HEADER_PREFIX}${CORE_ATTRIBUTES[slot]} header`);
    }
    return value;
  };
  const specversion = required(SLOT.ce_specversion);
  if (specversion !== SPEC_VERSION) throw new EnvelopeError(`unsupported ${HEADER_PREFIX}specversion ${specversion}`);

  const event: CloudEvent = {
    specversion: SPEC_VERSION,
    id: required(SLOT.ce_id),
    source: required(SLOT.ce_source),
    type: required(SLOT.ce_type),
    time: slots[SLOT.ce_time] ?? new Date(Number(record.timestamp)).toISOString(),
  };
  const subject = slots[SLOT.ce_subject];
  if (subject !== undefined) event.subject = subject;
  const dataschema = slots[SLOT.ce_dataschema];
  if (dataschema !== undefined) event.dataschema = dataschema;
  if (extensions) event.extensions = extensions;

  const contentType = slots[SLOT[CONTENT_TYPE]];
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
