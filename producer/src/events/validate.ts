import type { z } from 'zod';
import { isAvroMediaType } from '@event-pipeline/common';
import type { FieldError } from '../problem';
import { problems } from '../problem';
import {
  cloudEventAttributesSchema,
  EXCLUSIVE_DATA,
  EXCLUSIVE_DATA_MESSAGE,
  extensionName,
  extensionString,
  extensionValue,
  MAX_EXTENSIONS,
  MAX_EXTENSIONS_MESSAGE,
  SERVER_SET_EXTENSIONS,
  SERVER_SET_MESSAGE,
  KNOWN_ATTRIBUTES,
  plainEventSchema,
} from './attributes';

export type IncomingEvent = z.output<typeof plainEventSchema>;

/**
 * An event after its request was read and its attributes checked: what the client sent, before
 * the server fills what is missing (id and source in the plain mode, time in all).
 */
export interface EventCandidate {
  id?: string;
  source?: string;
  type: string;
  subject?: string;
  time?: string;
  datacontenttype?: string;
  dataschema?: string;
  data?: unknown;
  extensions?: Record<string, string>;
}

/** Where an item sits in the request: its index in a batch, and how its attributes are named. */
export interface ItemLocation {
  index?: number;
  /** JSON pointer of the item in the body, '' for a single event; undefined in binary mode (headers). */
  pointer?: string;
}

function escapePointer(part: PropertyKey): string {
  return String(part).replaceAll('~', '~0').replaceAll('/', '~1');
}

export function pointerOf(path: PropertyKey[]): string {
  return path.map((part) => '/' + escapePointer(part)).join('');
}

function fieldError(
  at: ItemLocation,
  attribute: string,
  message: string,
  path: PropertyKey[] = [attribute],
): FieldError {
  return {
    ...(at.index !== undefined ? { index: at.index } : {}),
    ...(at.pointer !== undefined
      ? { pointer: at.pointer + pointerOf(path) }
      : // Binary mode: the data's media type is the request's Content-Type, not a ce- header.
        { header: attribute === 'datacontenttype' ? 'content-type' : `ce-${attribute}` }),
    attribute,
    message,
  };
}

/** Splits a body into its items: one event object, or a non-empty array of at most `maxEvents`. */
export function itemsOf(body: unknown, maxEvents: number, { batch }: { batch: boolean | 'either' }): unknown[] {
  const isArray = Array.isArray(body);
  if (batch === true && !isArray) {
    throw problems.invalidEvent([{ pointer: '', message: 'a batch must be a JSON array of events' }]);
  }
  if (batch === false && (isArray || typeof body !== 'object' || body === null)) {
    throw problems.invalidEvent([
      {
        pointer: '',
        message: isArray
          ? 'a structured event is one JSON object; send a batch as application/cloudevents-batch+json'
          : 'the body must be an event object',
      },
    ]);
  }
  if (!isArray && (typeof body !== 'object' || body === null)) {
    throw problems.invalidEvent([{ pointer: '', message: 'the body must be an event object or an array of events' }]);
  }
  const items: unknown[] = isArray ? body : [body];
  if (items.length === 0) throw problems.invalidEvent([{ pointer: '', message: 'the batch is empty' }]);
  if (items.length > maxEvents) {
    throw problems.invalidEvent([
      { pointer: '', message: `the batch has ${items.length} events; at most ${maxEvents} per request` },
    ]);
  }
  return items;
}

/**
 * Validates a plain JSON body: one event object or a non-empty array of them. Every failing field
 * of every item is reported at once, so a client fixes its batch in one round trip.
 */
export function validateEvents(body: unknown, maxEvents: number): IncomingEvent[] {
  const isBatch = Array.isArray(body);
  const items = itemsOf(body, maxEvents, { batch: 'either' });
  const errors: FieldError[] = [];
  const events: IncomingEvent[] = [];
  items.forEach((item, index) => {
    const result = plainEventSchema.safeParse(item);
    if (result.success) {
      events.push(result.data);
      return;
    }
    const push = (path: PropertyKey[], message: string) =>
      errors.push({ ...(isBatch ? { index } : {}), pointer: pointerOf(isBatch ? [index, ...path] : path), message });
    for (const issue of result.error.issues) {
      if (issue.code !== 'unrecognized_keys') {
        push(issue.path, issue.message);
        continue;
      }
      for (const key of issue.keys) {
        push([...issue.path, key], 'is not a member of a plain event (type, data, id, subject, source, time)');
      }
    }
  });
  if (errors.length > 0) throw problems.invalidEvent(errors);
  return events;
}

/**
 * Checks one CloudEvent given as attributes (structured and batch modes: the JSON event format;
 * binary mode: the ce- headers, all strings) and returns it as a candidate. Extensions are kept,
 * string-valued as they travel on Kafka. The rules are those of attributes.ts, which cover what
 * the CloudEvents SDK's validation checks, so an event this API accepts is one the SDK accepts.
 */
export function checkCloudEvent(
  attributes: Record<string, unknown>,
  at: ItemLocation,
  errors: FieldError[],
): EventCandidate | undefined {
  const before = errors.length;
  const parsed = cloudEventAttributesSchema.safeParse(attributes);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      errors.push(fieldError(at, String(issue.path[0] ?? ''), issue.message));
    }
  }
  const extensions: Record<string, string> = {};
  const extensionNames = Object.keys(attributes).filter((name) => !KNOWN_ATTRIBUTES.has(name));
  if (extensionNames.length > MAX_EXTENSIONS) {
    // One error, not one per extension: a flood of them would otherwise be echoed back whole.
    errors.push({
      ...(at.index !== undefined ? { index: at.index } : {}),
      ...(at.pointer !== undefined ? { pointer: at.pointer } : {}),
      message: `${MAX_EXTENSIONS_MESSAGE}; this one has ${extensionNames.length}`,
    });
    return undefined;
  }
  for (const name of extensionNames) {
    const value = attributes[name];
    const nameIssue = extensionName.safeParse(name).error?.issues[0];
    const reserved = nameIssue ? undefined : SERVER_SET_EXTENSIONS.has(name);
    const valueIssue =
      nameIssue || reserved
        ? undefined
        : (typeof value === 'string' ? extensionString : extensionValue).safeParse(value).error?.issues[0];
    const message = nameIssue?.message ?? (reserved ? SERVER_SET_MESSAGE : valueIssue?.message);
    if (message !== undefined) errors.push(fieldError(at, name, message));
    else extensions[name] = String(value as string | number | boolean);
  }
  if (typeof attributes.datacontenttype === 'string' && isAvroMediaType(attributes.datacontenttype)) {
    // Avro bytes are written by this API alone, from JSON data it checked: bytes a client encodes
    // could name any schema and ask a reader for any number of items.
    errors.push(
      fieldError(
        at,
        'datacontenttype',
        'application/avro is written by this API, not taken from clients: send the data as JSON and the API encodes it with the schema of its type',
      ),
    );
  }
  if (EXCLUSIVE_DATA.every((name) => name in attributes)) {
    errors.push(fieldError(at, EXCLUSIVE_DATA[1], EXCLUSIVE_DATA_MESSAGE));
  }
  if (errors.length > before || !parsed.success) return undefined;

  const { specversion: _specversion, data_base64: encoded, data, ...checked } = parsed.data;
  const candidate: EventCandidate = checked;
  // Bytes (binary mode, data_base64) pass through as they came.
  if (encoded !== undefined) candidate.data = Buffer.from(encoded, 'base64');
  else if (data !== undefined) candidate.data = data;
  if (Object.keys(extensions).length > 0) candidate.extensions = extensions;
  return candidate;
}
