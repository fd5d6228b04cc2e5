import { CloudEvent as SdkCloudEvent, ValidationError as SdkValidationError } from 'cloudevents';
import { z } from 'zod';
import type { FieldError } from '../problem';
import { problems } from '../problem';

/**
 * One event as a client sends it in the plain JSON mode. Unknown members are refused rather
 * than dropped: nothing a client sends disappears silently.
 */
export const incomingEventSchema = z.strictObject({
  type: z.string().min(1).max(256),
  // Parsed JSON already, checked for depth and numbers as it was read (read-body.ts).
  data: z.unknown().optional(),
  id: z.string().min(1).max(256).optional(),
  subject: z.string().min(1).max(1024).optional(),
  source: z.string().min(1).max(1024).optional(),
  time: z.iso.datetime({ offset: true, message: 'must be an RFC 3339 date-time' }).optional(),
});

export type IncomingEvent = z.output<typeof incomingEventSchema>;

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
    ...(at.pointer !== undefined ? { pointer: at.pointer + pointerOf(path) } : { header: `ce-${attribute}` }),
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
    const result = incomingEventSchema.safeParse(item);
    if (result.success) {
      events.push(result.data);
      return;
    }
    for (const issue of result.error.issues) {
      const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0] ?? ''] : issue.path;
      errors.push({
        ...(isBatch ? { index } : {}),
        pointer: pointerOf(isBatch ? [index, ...path] : path),
        message: issue.message,
      });
    }
  });
  if (errors.length > 0) throw problems.invalidEvent(errors);
  return events;
}

const required = (what: string) =>
  z.string({ error: (issue) => (issue.input === undefined ? 'is required' : `must be a string (${what})`) });

/** The context attributes of CloudEvents 1.0 that this API reads; anything else is an extension. */
const cloudEventAttributesSchema = z.object({
  specversion: required('"1.0"').refine((value) => value === '1.0', 'must be "1.0", the only version this API speaks'),
  id: required('the event id').min(1, 'must not be empty').max(256),
  source: required('a URI-reference').min(1, 'must not be empty').max(1024),
  type: required('the event type').min(1, 'must not be empty').max(256),
  subject: z.string().min(1).max(1024).optional(),
  time: z.iso.datetime({ offset: true, message: 'must be an RFC 3339 date-time' }).optional(),
  datacontenttype: z.string().min(1).max(256).optional(),
  dataschema: z.url({ message: 'must be an absolute URI' }).max(1024).optional(),
});

const KNOWN = new Set([...Object.keys(cloudEventAttributesSchema.shape), 'data', 'data_base64']);
const EXTENSION_NAME = /^[a-z0-9]{1,64}$/;
const MAX_EXTENSION_LENGTH = 4096;

/**
 * Checks one CloudEvent given as attributes (structured and batch modes: the JSON event format;
 * binary mode: the ce- headers, all strings) and returns it as a candidate. Extensions are kept,
 * string-valued as they travel on Kafka. The SDK's own validation (the spec's JSON Schema) runs
 * last, so an event this API accepts is one the SDK accepts.
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
      const attribute = String(issue.path[0] ?? '');
      errors.push(fieldError(at, attribute, issue.message));
    }
  }
  const extensions: Record<string, string> = {};
  for (const [name, value] of Object.entries(attributes)) {
    if (KNOWN.has(name)) continue;
    if (!EXTENSION_NAME.test(name)) {
      errors.push(fieldError(at, name, 'an attribute name is lower-case letters and digits only (at most 64)'));
    } else if (typeof value === 'string' && value.length <= MAX_EXTENSION_LENGTH) {
      extensions[name] = value;
    } else if (typeof value === 'boolean' || (typeof value === 'number' && Number.isSafeInteger(value))) {
      extensions[name] = String(value);
    } else {
      errors.push(
        fieldError(at, name, `an extension is a string (at most ${MAX_EXTENSION_LENGTH}), an integer or a boolean`),
      );
    }
  }
  if ('data' in attributes && 'data_base64' in attributes) {
    errors.push(fieldError(at, 'data_base64', 'an event has data or data_base64, not both'));
  }
  let data: unknown = attributes.data;
  if (attributes.data_base64 !== undefined) {
    const encoded = attributes.data_base64;
    if (typeof encoded !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
      errors.push(fieldError(at, 'data_base64', 'must be base64'));
    } else {
      data = Buffer.from(encoded, 'base64');
    }
  }
  if (errors.length > before || !parsed.success) return undefined;

  const { specversion: _specversion, ...checked } = parsed.data;
  try {
    // The SDK's schema checks the attributes; data it would only copy (and base64-encode a Buffer).
    new SdkCloudEvent({ specversion: '1.0', ...checked, ...extensions }, true);
  } catch (error) {
    if (!(error instanceof SdkValidationError)) throw error;
    const details = error.errors ?? [];
    for (const detail of details) {
      if (typeof detail === 'object' && detail !== null) {
        const {
          instancePath = '',
          params = {},
          message = 'is invalid',
        } = detail as {
          instancePath?: string;
          params?: { missingProperty?: string };
          message?: string;
        };
        const attribute = params.missingProperty ?? instancePath.split('/')[1] ?? '';
        errors.push(fieldError(at, attribute, message));
      } else {
        errors.push(fieldError(at, '', String(detail)));
      }
    }
    if (details.length === 0) errors.push(fieldError(at, '', error.message));
    return undefined;
  }
  // Bytes (binary mode, data_base64) pass through as they came.
  const candidate: EventCandidate = checked;
  if (data !== undefined) candidate.data = data;
  if (Object.keys(extensions).length > 0) candidate.extensions = extensions;
  return candidate;
}
