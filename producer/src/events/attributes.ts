import { fullFormats } from 'ajv-formats/dist/formats';
import { z } from 'zod';
import { AUTH_CONTEXT_EXTENSIONS } from '@event-pipeline/common';

/*
 * The one declaration of the event attributes this API takes: their types, lengths, formats,
 * which of them each mode requires, and the rules for extensions and data. The checks
 * (validate.ts) parse with these schemas, and the OpenAPI document shows their JSON Schema
 * (eventJsonSchemas), so the two cannot drift; openapi-equivalence.test.ts holds them to it.
 *
 * Lengths count code points, as JSON Schema's maxLength does (zod measures strings so too).
 * Formats are ajv-formats' own, the implementation behind the CloudEvents SDK's JSON Schema and
 * behind most readers of the OpenAPI document.
 */

type Format = 'uri' | 'uri-reference';

function matchesFormat(format: Format, value: string): boolean {
  const check = fullFormats[format];
  return check instanceof RegExp ? check.test(value) : (check as (value: string) => boolean)(value);
}

/*
 * CloudEvents 1.0 (type system, String) excludes the control characters U+0000-U+001F and
 * U+007F-U+009F, and unpaired surrogates. Kafka headers are UTF-8, where an unpaired surrogate
 * becomes U+FFFD: two different ids would then be one, and the id answered in the 202 would not
 * be the id stored. Control characters reach logs and an operator's terminal (`dlq show`).
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
// With the u flag a pair is one code point, so only an unpaired surrogate is a Cs code point.
const UNPAIRED_SURROGATE = /\p{Cs}/u;
export const CONTROL_CHARACTER_MESSAGE = 'must not contain control characters (U+0000-U+001F, U+007F-U+009F)';
export const UNPAIRED_SURROGATE_MESSAGE = 'must not contain an unpaired surrogate (it is not Unicode text)';

/**
 * Both rules as one JSON Schema pattern, for the OpenAPI document. Patterns are matched with
 * Unicode semantics (JSON Schema 2020-12; ajv's default), where a surrogate pair is one code
 * point outside the class and only an unpaired surrogate falls in U+D800-U+DFFF.
 */
export const CLOUDEVENTS_STRING_PATTERN = '^[^\\u0000-\\u001f\\u007f-\\u009f\\ud800-\\udfff]*$';

/** The CloudEvents String rules, for any string-valued attribute or extension. */
function cloudEventsString<T extends z.ZodString>(schema: T) {
  return schema
    .refine((value) => !CONTROL_CHARACTER.test(value), { message: CONTROL_CHARACTER_MESSAGE, abort: true })
    .refine((value) => !UNPAIRED_SURROGATE.test(value), { message: UNPAIRED_SURROGATE_MESSAGE, abort: true })
    .meta({ pattern: CLOUDEVENTS_STRING_PATTERN });
}

/** A string attribute: not empty, at most `max` characters, and of `format` if one is named. */
function text(description: string, max: number, format?: { name: Format; message: string }) {
  const schema = cloudEventsString(
    z
      .string({ error: (issue) => (issue.input === undefined ? 'is required' : `must be a string (${description})`) })
      // Aborting here keeps an empty or over-long value to one error, and no format check of a huge string.
      .min(1, { message: 'must not be empty', abort: true })
      .max(max, { abort: true }),
  );
  if (!format) return schema.meta({ description });
  return schema
    .refine((value) => matchesFormat(format.name, value), format.message)
    .meta({
      description,
      format: format.name,
    });
}

const attribute = {
  specversion: z
    .literal('1.0', {
      error: (issue) => (issue.input === undefined ? 'is required' : 'must be "1.0", the only version this API speaks'),
    })
    .meta({ description: 'the CloudEvents version, 1.0' }),
  id: text('the event id', 256),
  source: text('the event source, a URI-reference', 1024, {
    name: 'uri-reference',
    message: 'must match format "uri-reference"',
  }),
  type: text('the event type', 256),
  subject: text('the subject; it keys the event on Kafka', 1024),
  time: z.iso
    .datetime({ offset: true, error: 'must be an RFC 3339 date-time' })
    .meta({ description: 'when it happened, RFC 3339 with an offset; the time of acceptance when absent' }),
  datacontenttype: text('the media type of data', 256),
  dataschema: text('the URI of the data schema', 1024, { name: 'uri', message: 'must be an absolute URI' }),
  data: z.unknown().meta({ description: 'the event data, any JSON value' }),
  data_base64: z
    .string({ error: 'must be base64' })
    .regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'must be base64')
    .meta({ description: 'the event data as bytes, base64-encoded', contentEncoding: 'base64' }),
};

export type AttributeName = keyof typeof attribute;

/** The attributes a plain JSON event may carry; the server fills id, source and time when absent. */
export const plainEventShape = {
  type: attribute.type,
  data: attribute.data.optional(),
  id: attribute.id.optional(),
  subject: attribute.subject.optional(),
  source: attribute.source.optional(),
  time: attribute.time.optional(),
};

/** The context attributes of CloudEvents 1.0 that this API reads, and the data; anything else is an extension. */
export const cloudEventShape = {
  specversion: attribute.specversion,
  id: attribute.id,
  source: attribute.source,
  type: attribute.type,
  subject: attribute.subject.optional(),
  time: attribute.time.optional(),
  datacontenttype: attribute.datacontenttype.optional(),
  dataschema: attribute.dataschema.optional(),
  data: attribute.data.optional(),
  data_base64: attribute.data_base64.optional(),
};

/** Members an event has one of at most. */
export const EXCLUSIVE_DATA = ['data', 'data_base64'] as const;
export const EXCLUSIVE_DATA_MESSAGE = 'an event has data or data_base64, not both';

export const MAX_EXTENSION_LENGTH = 4096;
/** Extension attributes one event may carry: each is a Kafka header, kept and copied at every hop. */
export const MAX_EXTENSIONS = 32;
export const MAX_EXTENSIONS_MESSAGE = `an event has at most ${MAX_EXTENSIONS} extension attributes`;
const EXTENSION_VALUE_MESSAGE = `an extension is a string (at most ${MAX_EXTENSION_LENGTH}), an integer or a boolean`;
const UNSAFE_INTEGER_MESSAGE =
  'is an integer beyond ±(2^53-1), which JSON readers round (this one may already be); send it as a string';

/**
 * The name of an extension attribute. `schemaurl` was the dataschema of CloudEvents 0.3: the SDK
 * refuses it on a 1.0 event even when reading, so an event carrying it could not be read back.
 */
export const extensionName = z
  .string()
  .regex(/^[a-z0-9]{1,64}$/, 'an attribute name is lower-case letters and digits only (at most 64)')
  .regex(/^(?!schemaurl$)/, 'is the CloudEvents 0.3 name of dataschema, which readers refuse on a 1.0 event');

/** The value of an extension attribute; it travels on Kafka as a string header. */
/** A string-valued extension, checked apart so that its own reason (not the union's) is reported. */
export const extensionString = cloudEventsString(
  z.string().max(MAX_EXTENSION_LENGTH, { message: EXTENSION_VALUE_MESSAGE, abort: true }),
);

export const extensionValue = z.union(
  [
    extensionString,
    z.boolean(),
    z.int({ error: (issue) => (Number.isInteger(issue.input) ? UNSAFE_INTEGER_MESSAGE : EXTENSION_VALUE_MESSAGE) }),
  ],
  { error: EXTENSION_VALUE_MESSAGE },
);

/** Extensions only the server sets (the caller, with API keys on); a client's are refused, not overwritten. */
export const SERVER_SET_EXTENSIONS: ReadonlySet<string> = new Set(Object.values(AUTH_CONTEXT_EXTENSIONS));
export const SERVER_SET_MESSAGE = 'is set by the server (the CloudEvents Auth Context extension), never by a client';

/** One event in the plain JSON mode. Unknown members are refused rather than dropped. */
export const plainEventSchema = z.strictObject(plainEventShape);

/** The attributes of a CloudEvent (extensions are checked apart: see validate.ts). */
export const cloudEventAttributesSchema = z.object(cloudEventShape);

export const KNOWN_ATTRIBUTES: ReadonlySet<string> = new Set(Object.keys(cloudEventShape));

type JsonSchema = Record<string, unknown>;

function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' });
  return rest;
}

/** The JSON Schemas of one attribute, for the ce- headers of the binary mode. */
export function attributeJsonSchema(name: AttributeName): JsonSchema {
  return jsonSchemaOf(attribute[name]);
}

/** The JSON Schemas of the two event shapes, for the OpenAPI document's components. */
export function eventJsonSchemas(): { PlainEvent: JsonSchema; CloudEvent: JsonSchema } {
  const PlainEvent = {
    description: 'An event in the plain JSON mode; the server fills specversion, id, source and time.',
    ...jsonSchemaOf(plainEventSchema),
  };
  const CloudEvent = {
    description:
      `A CloudEvent 1.0 in the JSON event format; other lower-case members are extension attributes, at most ${MAX_EXTENSIONS} ` +
      `(${[...SERVER_SET_EXTENSIONS].join(', ')} are the server's). Strings hold no control characters (U+0000-U+001F, ` +
      'U+007F-U+009F) and no unpaired surrogates.',
    ...jsonSchemaOf(cloudEventAttributesSchema.catchall(extensionValue)),
    propertyNames: {
      anyOf: [
        { enum: [...KNOWN_ATTRIBUTES] },
        { ...jsonSchemaOf(extensionName), not: { enum: [...SERVER_SET_EXTENSIONS] } },
      ],
    },
    // The properties are named again so that a strict validator knows what `required` refers to.
    not: { properties: Object.fromEntries(EXCLUSIVE_DATA.map((name) => [name, {}])), required: [...EXCLUSIVE_DATA] },
  };
  return { PlainEvent, CloudEvent };
}
