import { attributeJsonSchema, eventJsonSchemas, MAX_EXTENSION_LENGTH, type AttributeName } from './events/attributes';
import type { DataSchemas } from './events/data-schemas';
import { BATCH_MEDIA_TYPE, PLAIN_MEDIA_TYPE, STRUCTURED_MEDIA_TYPE } from './events/read-events';

export interface OpenApiOptions {
  schemas: DataSchemas;
  apiKeysEnabled: boolean;
  maxEventsPerRequest: number;
  bodyLimitBytes: number;
  version: string;
}

/** The component name of one version of an event type's data schema, e.g. `com.example.order.created.v2`. */
function componentName(type: string, version: number): string {
  return `${type.replace(/[^A-Za-z0-9._-]/g, '_')}.v${version}`;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const problem = (description: string, headers: Record<string, unknown> = {}) => ({
  description,
  ...(Object.keys(headers).length > 0 ? { headers } : {}),
  content: { 'application/problem+json': { schema: ref('Problem') } },
});

const retryAfter = {
  'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 1 } },
};

/**
 * The OpenAPI 3.1 document of this API. The event types come from the same schema folder the
 * producer validates with, so the document and the checks cannot disagree.
 */
export function buildOpenApiDocument(options: OpenApiOptions): Record<string, unknown> {
  const { schemas } = options;
  const dataSchemas: Record<string, unknown> = {};
  for (const schema of schemas.compiled()) dataSchemas[componentName(schema.type, schema.version)] = schema.jsonSchema;

  // One plain and one CloudEvent schema per type with a schema (its newest version), then the generic one.
  const typedPlain = schemas.latest().map((schema) => ({
    allOf: [
      ref('PlainEvent'),
      {
        properties: { type: { const: schema.type }, data: ref(componentName(schema.type, schema.version)) },
        required: ['type', 'data'],
      },
    ],
  }));
  const typedCloudEvents = schemas.latest().map((schema) => ({
    allOf: [
      ref('CloudEvent'),
      {
        properties: { type: { const: schema.type }, data: ref(componentName(schema.type, schema.version)) },
        required: ['type', 'data'],
      },
    ],
  }));
  const plainEvent = typedPlain.length > 0 ? { anyOf: [...typedPlain, ref('PlainEvent')] } : ref('PlainEvent');
  const cloudEvent =
    typedCloudEvents.length > 0 ? { anyOf: [...typedCloudEvents, ref('CloudEvent')] } : ref('CloudEvent');
  const batchOf = (item: unknown) => ({
    type: 'array',
    minItems: 1,
    maxItems: options.maxEventsPerRequest,
    items: item,
  });

  // The schema is the attribute's own, as the server checks it: a tool that generates headers
  // from it sends only values the server takes. The server percent-decodes a value first (the
  // HTTP binding's encoding), so an encoded value is checked as the text it decodes to.
  const ceHeader = (name: AttributeName) => {
    const { description, ...schema } = attributeJsonSchema(name);
    return {
      name: `ce-${name}`,
      in: 'header',
      required: false,
      description: `Binary mode: ${String(description)}. Percent-encoded where it leaves printable ASCII; the limits hold for the decoded value.`,
      schema,
    };
  };

  return {
    openapi: '3.1.1',
    info: {
      title: 'event-pipeline ingest API',
      version: options.version,
      description:
        "Send events to Kafka. POST /events takes CloudEvents in the HTTP binding's structured, batch and binary modes, or plain JSON events. A 202 means every event of the request is durably in Kafka.",
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    paths: {
      '/events': {
        post: {
          operationId: 'postEvents',
          summary: 'Send one event or a batch',
          description: `At most ${options.maxEventsPerRequest} events and ${options.bodyLimitBytes} bytes per request. Binary mode: the CloudEvents attributes as ce- headers (ce-specversion, ce-id, ce-source and ce-type required), the data as the body in any media type named by Content-Type; any other ce-<name> header is an extension attribute, checked as one in the JSON modes (a name of lower-case letters and digits, a value of at most ${MAX_EXTENSION_LENGTH} characters); ce-datacontenttype, ce-data and ce-data_base64 are refused (the body is the data).`,
          ...(options.apiKeysEnabled ? { security: [{ apiKey: [] }] } : {}),
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              description:
                'Plain mode: events without an id get ids derived from this key and their index, so a retry with the same key yields the same ids.',
              // As the server checks it: present means 1 to 255 visible ASCII characters (an empty one is a 400).
              schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' },
            },
            ...(['specversion', 'id', 'source', 'type', 'subject', 'time', 'dataschema'] as const).map(ceHeader),
          ],
          requestBody: {
            required: true,
            description:
              'Plain JSON, a structured CloudEvent, a CloudEvents batch, or (binary mode, */*) the data of one event.',
            content: {
              [PLAIN_MEDIA_TYPE]: { schema: { oneOf: [plainEvent, batchOf(plainEvent)] } },
              [STRUCTURED_MEDIA_TYPE]: { schema: cloudEvent },
              [BATCH_MEDIA_TYPE]: { schema: batchOf(cloudEvent) },
              // Binary mode: the data of one event in its own media type, with ce- headers.
              '*/*': { schema: {} },
            },
          },
          responses: {
            '202': {
              description: 'Every event of the request is acknowledged by Kafka (acks=all).',
              content: { 'application/json': { schema: ref('Accepted') } },
            },
            '400': problem('Malformed body, invalid event attributes (errors name each), or an invalid header.'),
            '401': problem('API keys are configured and the key is missing or wrong.'),
            '408': problem('The body did not arrive in time.'),
            '413': problem('The body or one event is too large.'),
            '415': problem('Unsupported content type or content encoding.'),
            '422': problem(
              'Event data violates the schema of its type (errors name each item and field); nothing was produced.',
            ),
            '429': problem(
              'This caller sent more requests than its rate limit, or its address sent more refused keys than that.',
              retryAfter,
            ),
            '503': problem('Kafka unavailable, too many events in flight, or shutting down.', retryAfter),
          },
        },
      },
      '/schemas': {
        get: {
          operationId: 'listSchemas',
          summary: 'The event types with a schema, every version',
          responses: {
            '200': { description: 'The schemas.', content: { 'application/json': { schema: ref('SchemaList') } } },
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'getOpenApi',
          summary: 'This document',
          responses: {
            '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } },
          },
        },
      },
      '/health/live': {
        get: { operationId: 'live', summary: 'The process is up', responses: { '200': { description: 'live' } } },
      },
      '/health/ready': {
        get: {
          operationId: 'ready',
          summary: 'Connected to Kafka and the topic has leaders',
          responses: { '200': { description: 'ready' }, '503': { description: 'not ready' } },
        },
      },
      '/metrics': {
        get: {
          operationId: 'metrics',
          summary: 'Prometheus metrics',
          responses: {
            '200': { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } },
          },
        },
      },
    },
    components: {
      ...(options.apiKeysEnabled ? { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } } : {}),
      schemas: {
        ...dataSchemas,
        ...eventJsonSchemas(),
        Accepted: {
          type: 'object',
          required: ['ids'],
          properties: {
            ids: { type: 'array', items: { type: 'string' }, description: 'The event ids, in request order.' },
          },
        },
        FieldError: {
          type: 'object',
          required: ['message'],
          properties: {
            index: { type: 'integer', minimum: 0, description: 'The item of a batch.' },
            pointer: { type: 'string', description: 'JSON pointer into the request body.' },
            attribute: { type: 'string', description: 'The CloudEvents attribute.' },
            header: { type: 'string', description: 'The header (binary mode).' },
            message: { type: 'string' },
          },
        },
        Problem: {
          type: 'object',
          description: 'RFC 9457 problem details; type is urn:event-pipeline:problem:<name>.',
          required: ['type', 'title', 'status'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            instance: { type: 'string' },
            errors: { type: 'array', items: ref('FieldError') },
          },
        },
        SchemaList: {
          type: 'object',
          required: ['schemas'],
          properties: {
            schemas: {
              type: 'array',
              items: {
                type: 'object',
                required: ['type', 'version', 'id', 'format', 'latest', 'schema'],
                properties: {
                  type: { type: 'string' },
                  version: { type: 'integer' },
                  id: {
                    type: 'string',
                    description:
                      "The $id, or the schema's URL in the schema registry; events validated with it carry it as dataschema.",
                  },
                  format: { enum: ['json', 'avro'], description: 'JSON Schema, or Avro (the data travels as Avro).' },
                  registryId: { type: 'integer', description: 'The id of the schema in the schema registry.' },
                  latest: { type: 'boolean' },
                  schema: { type: 'object', description: 'The JSON Schema, or the Avro schema.' },
                },
              },
            },
          },
        },
      },
    },
  };
}
