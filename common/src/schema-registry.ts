/**
 * The schema registry as both services, and `npm run schemas:push`, see it: the Confluent API
 * (Apicurio serves it at `/apis/ccompat/v7`). Subjects are event types (see schemas/README.md).
 * Lookups go through `fetch` here, so that an unreachable registry (retriable: wait and try
 * again) and a registry that answered "no such schema" (not retriable) are told apart; the
 * Confluent wire format is @kafkajs/confluent-schema-registry's, whose schema cache by id keeps
 * encoding and decoding off the network once a schema is known.
 */
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { SpanKind, trace } from '@opentelemetry/api';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_URL_FULL,
} from '@opentelemetry/semantic-conventions';
import type { Type } from 'avsc';
import TimeoutMiddleware from 'mappersmith/middleware/timeout';
import { errorMessage, PipelineError } from './errors';
import { Counter, Gauge, Histogram, type MetricsRegistry } from './metrics';
import { recordFailure } from './span-failure';

export type SchemaFormat = 'avro' | 'json';

/** One version of a subject, as the registry holds it. */
export interface RegisteredSchema {
  subject: string;
  version: number;
  /** The registry's id of the schema: the one in the wire format. */
  id: number;
  format: SchemaFormat;
  /** The schema document, parsed. */
  document: Record<string, unknown>;
}

/** The registry could not be asked (refused, timed out, 5xx): waiting may cure it. */
export class SchemaRegistryUnavailableError extends PipelineError {
  readonly retriable = true;
}

/** The registry answered that the subject, version or schema id does not exist. */
export class SchemaNotFoundError extends PipelineError {
  readonly retriable = false;
}

/** The registry refused a request (e.g. 409: an incompatible schema); `message` is the registry's own. */
export class SchemaRegistryRefusedError extends PipelineError {
  readonly retriable = false;
  constructor(
    message: string,
    /** The registry's answer (409, 422, ...), not ours. */
    readonly registryStatus: number,
    readonly errorCode: number | undefined,
  ) {
    super(message);
  }
}

export const SCHEMA_REGISTRY_OPERATIONS = [
  'subjects',
  'versions',
  'version',
  'schema',
  'schema_versions',
  'register',
  'lookup',
  'compatibility',
  'config',
] as const;
export type SchemaRegistryOperation = (typeof SCHEMA_REGISTRY_OPERATIONS)[number];

export interface SchemaRegistryMetrics {
  /** Schema lookups: answered from the cache (hit), needing the registry (miss), or failed (error). */
  lookups: Counter<'outcome'>;
  /** Calls to the registry, by operation. */
  requestDuration: Histogram<'operation'>;
  /** 1 while the last call reached the registry, 0 after one that could not. */
  reachable: Gauge;
}

/** The registry metrics of a service (docs/metrics.md). Label values are fixed sets. */
export function createSchemaRegistryMetrics(registry: MetricsRegistry): SchemaRegistryMetrics {
  const lookups = new Counter({
    name: 'events_schema_registry_lookups_total',
    help: 'Schema lookups by outcome: hit (from the cache), miss (asked the registry), error (the registry could not answer).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  for (const outcome of ['hit', 'miss', 'error']) lookups.inc({ outcome }, 0);
  const requestDuration = new Histogram({
    name: 'events_schema_registry_request_duration_seconds',
    help: 'Calls to the schema registry, by operation, failed ones included.',
    labelNames: ['operation'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const reachable = new Gauge({
    name: 'events_schema_registry_reachable',
    help: '1 while the last call to the schema registry got an answer, 0 after one that could not reach it.',
    registers: [registry],
    // Summed over a producer's workers (node:cluster), 0 as soon as one of them cannot reach it.
    aggregator: 'min',
  });
  reachable.set(1);
  return { lookups, requestDuration, reachable };
}

/** The settings a registry client is built from: the same in both services and the schemas CLI. */
export interface SchemaRegistrySettings {
  SCHEMA_REGISTRY_URL?: string | undefined;
  SCHEMA_REGISTRY_TIMEOUT_MS: number;
}

/** A registry client and the metrics it reports to. */
export interface SchemaRegistryAccess {
  client: SchemaRegistryClient;
  metrics: SchemaRegistryMetrics;
}

/** The registry client of these settings, its metrics in `metricsRegistry`; none without SCHEMA_REGISTRY_URL. */
export function schemaRegistryOf(
  settings: SchemaRegistrySettings & { SCHEMA_REGISTRY_URL: string },
  metricsRegistry: MetricsRegistry,
): SchemaRegistryAccess;
export function schemaRegistryOf(
  settings: SchemaRegistrySettings,
  metricsRegistry: MetricsRegistry,
): SchemaRegistryAccess | undefined;
export function schemaRegistryOf(
  settings: SchemaRegistrySettings,
  metricsRegistry: MetricsRegistry,
): SchemaRegistryAccess | undefined {
  if (!settings.SCHEMA_REGISTRY_URL) return undefined;
  const metrics = createSchemaRegistryMetrics(metricsRegistry);
  const client = new SchemaRegistryClient({
    url: settings.SCHEMA_REGISTRY_URL,
    timeoutMs: settings.SCHEMA_REGISTRY_TIMEOUT_MS,
    metrics,
  });
  return { client, metrics };
}

export interface SchemaRegistryClientOptions {
  /** Base URL of the Confluent API, e.g. http://localhost:8081/apis/ccompat/v7. */
  url: string;
  /** Bound on one call. */
  timeoutMs: number;
  metrics?: SchemaRegistryMetrics | undefined;
}

const MEDIA_TYPE = 'application/vnd.schemaregistry.v1+json';
const tracer = trace.getTracer('@event-pipeline/common');

/** The Confluent wire format: magic byte 0, the schema id (4 bytes, big-endian), the payload. */
export const WIRE_HEADER_BYTES = 5;

/** The schema id of a value in the wire format, or undefined when the value is not in it. */
export function wireSchemaId(value: Buffer): number | undefined {
  if (value.length < WIRE_HEADER_BYTES || value[0] !== 0) return undefined;
  return value.readInt32BE(1);
}

export class SchemaRegistryClient {
  readonly url: string;
  private readonly timeoutMs: number;
  private readonly metrics: SchemaRegistryMetrics | undefined;
  /** Encodes and decodes; its cache holds every schema `avroType` fetched, by id. */
  private readonly codec: SchemaRegistry;

  constructor({ url, timeoutMs, metrics }: SchemaRegistryClientOptions) {
    this.url = url.replace(/\/+$/, '');
    this.timeoutMs = timeoutMs;
    this.metrics = metrics;
    // No retries inside: the callers decide (the consumer waits, the producer answers 503). The
    // codec's own HTTP client has no bound of its own, and it shares one request per schema id
    // among its callers: a registry that took the connection and never answered would hold that
    // id's lookups, and the events that need it, for good. So its calls get the same bound.
    this.codec = new SchemaRegistry({
      host: this.url,
      clientId: 'event-pipeline',
      retry: { retries: 0 },
      middlewares: [TimeoutMiddleware(timeoutMs)],
    });
  }

  /** Where a schema is, for an event's `dataschema`. */
  schemaUrl(id: number): string {
    return `${this.url}/schemas/ids/${id}`;
  }

  subjects(): Promise<string[]> {
    return this.call('subjects', 'GET', '/subjects') as Promise<string[]>;
  }

  /** The version numbers of a subject; SchemaNotFoundError when the subject does not exist. */
  versions(subject: string): Promise<number[]> {
    return this.call('versions', 'GET', `/subjects/${encodeURIComponent(subject)}/versions`) as Promise<number[]>;
  }

  async version(subject: string, version: number | 'latest'): Promise<RegisteredSchema> {
    const found = (await this.call(
      'version',
      'GET',
      `/subjects/${encodeURIComponent(subject)}/versions/${version}`,
    )) as { subject: string; version: number; id: number; schema: string; schemaType?: string };
    return {
      subject: found.subject,
      version: found.version,
      id: found.id,
      format: formatOf(found.schemaType),
      document: JSON.parse(found.schema) as Record<string, unknown>,
    };
  }

  /** The schema of an id; SchemaNotFoundError when the registry has none of that id. */
  async schema(id: number): Promise<{ format: SchemaFormat; document: Record<string, unknown> }> {
    const found = (await this.call('schema', 'GET', `/schemas/ids/${id}`)) as { schema: string; schemaType?: string };
    return { format: formatOf(found.schemaType), document: JSON.parse(found.schema) as Record<string, unknown> };
  }

  /** The subjects and versions that hold a schema id. */
  schemaVersions(id: number): Promise<Array<{ subject: string; version: number }>> {
    return this.call('schema_versions', 'GET', `/schemas/ids/${id}/versions`) as Promise<
      Array<{ subject: string; version: number }>
    >;
  }

  /** The version of `subject` that is exactly this schema, or undefined when none is. */
  async lookup(
    subject: string,
    format: SchemaFormat,
    document: unknown,
  ): Promise<{ id: number; version: number } | undefined> {
    try {
      const found = (await this.call(
        'lookup',
        'POST',
        `/subjects/${encodeURIComponent(subject)}`,
        schemaBody(format, document),
      )) as { id: number; version: number };
      return { id: found.id, version: found.version };
    } catch (error) {
      if (error instanceof SchemaNotFoundError) return undefined;
      throw error;
    }
  }

  /** Registers a new version (or finds the same one); refused with the registry's reason when incompatible. */
  async register(subject: string, format: SchemaFormat, document: unknown): Promise<number> {
    const { id } = (await this.call(
      'register',
      'POST',
      `/subjects/${encodeURIComponent(subject)}/versions`,
      schemaBody(format, document),
    )) as { id: number };
    return id;
  }

  /** Whether `document` could be registered as the next version; true for a subject that does not exist. */
  async isCompatible(subject: string, format: SchemaFormat, document: unknown): Promise<boolean> {
    try {
      const { is_compatible: compatible } = (await this.call(
        'compatibility',
        'POST',
        `/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest`,
        schemaBody(format, document),
      )) as { is_compatible: boolean };
      return compatible;
    } catch (error) {
      if (error instanceof SchemaNotFoundError) return true;
      throw error;
    }
  }

  async setCompatibility(subject: string, level: string): Promise<void> {
    await this.call('config', 'PUT', `/config/${encodeURIComponent(subject)}`, { compatibility: level });
  }

  /** The subject's own compatibility level, or undefined when it follows the registry's default. */
  async compatibility(subject: string): Promise<string | undefined> {
    try {
      const found = (await this.call('config', 'GET', `/config/${encodeURIComponent(subject)}`)) as {
        compatibilityLevel?: string;
      };
      return found.compatibilityLevel;
    } catch (error) {
      if (error instanceof SchemaNotFoundError) return undefined;
      throw error;
    }
  }

  /**
   * The avsc type of an Avro schema id, from the codec's cache or the registry (which puts it in
   * the cache, so `encode` and `decode` of that id need no call after).
   */
  async avroType(id: number): Promise<Type> {
    const started = performance.now();
    try {
      const type = (await tracer.startActiveSpan(
        'schema-registry schema',
        {
          kind: SpanKind.CLIENT,
          attributes: { 'schema_registry.operation': 'schema', 'schema_registry.schema_id': id },
        },
        async (span) => {
          try {
            return await this.codec.getSchema(id);
          } catch (error) {
            recordFailure(span, error);
            throw error;
          } finally {
            span.end();
          }
        },
      )) as unknown as Type;
      this.metrics?.reachable.set(1);
      return type;
    } catch (error) {
      const status = (error as { status?: unknown }).status;
      // The codec's client reports a connection failure as a 400 with no answer behind it.
      if (status === 404) throw new SchemaNotFoundError(`schema ${id} is not in the registry`, { cause: error });
      this.metrics?.reachable.set(0);
      throw new SchemaRegistryUnavailableError(`schema registry: ${errorMessage(error)}`, { cause: error });
    } finally {
      this.metrics?.requestDuration.observe({ operation: 'schema' }, (performance.now() - started) / 1000);
    }
  }

  /** Avro binary in the wire format; the schema of `id` must be in the cache (see avroType). */
  encode(id: number, data: unknown): Promise<Buffer> {
    return this.codec.encode(id, data);
  }

  /** Decodes a value in the wire format whose schema is in the cache (see avroType). */
  decode(value: Buffer): Promise<unknown> {
    return this.codec.decode(value);
  }

  private async call(
    operation: SchemaRegistryOperation,
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    body?: unknown,
  ): Promise<unknown> {
    const started = performance.now();
    const url = this.url + path;
    return tracer.startActiveSpan(
      `schema-registry ${operation}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'schema_registry.operation': operation,
          [ATTR_HTTP_REQUEST_METHOD]: method,
          [ATTR_URL_FULL]: url,
        },
      },
      async (span) => {
        try {
          let response: Response;
          try {
            response = await fetch(url, {
              method,
              headers: { accept: `${MEDIA_TYPE}, application/json`, ...(body ? { 'content-type': MEDIA_TYPE } : {}) },
              ...(body ? { body: JSON.stringify(body) } : {}),
              signal: AbortSignal.timeout(this.timeoutMs),
            });
          } catch (error) {
            throw new SchemaRegistryUnavailableError(
              `schema registry at ${this.url} did not answer: ${errorMessage((error as { cause?: unknown }).cause ?? error)}`,
              { cause: error },
            );
          }
          span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, response.status);
          const text = await response.text();
          if (response.status >= 500) {
            throw new SchemaRegistryUnavailableError(
              `schema registry at ${this.url} answered ${response.status}: ${registryMessage(text)}`,
            );
          }
          this.metrics?.reachable.set(1);
          if (response.status === 404) throw new SchemaNotFoundError(registryMessage(text));
          if (!response.ok) {
            throw new SchemaRegistryRefusedError(registryMessage(text), response.status, registryErrorCode(text));
          }
          return text === '' ? undefined : (JSON.parse(text) as unknown);
        } catch (error) {
          if (error instanceof SchemaRegistryUnavailableError) this.metrics?.reachable.set(0);
          recordFailure(span, error);
          throw error;
        } finally {
          span.end();
          this.metrics?.requestDuration.observe({ operation }, (performance.now() - started) / 1000);
        }
      },
    );
  }
}

function formatOf(schemaType: string | undefined): SchemaFormat {
  if (schemaType === undefined || schemaType === 'AVRO') return 'avro';
  if (schemaType === 'JSON') return 'json';
  throw new SchemaNotFoundError(`schema type ${schemaType} is not one this project reads (AVRO, JSON)`);
}

function schemaBody(format: SchemaFormat, document: unknown): Record<string, string> {
  return { schema: JSON.stringify(document), ...(format === 'json' ? { schemaType: 'JSON' } : {}) };
}

/** The registry's own message out of its error body, else the body. */
function registryMessage(text: string): string {
  try {
    const { message } = JSON.parse(text) as { message?: unknown };
    if (typeof message === 'string') return message;
  } catch {
    // Not JSON: the text itself.
  }
  return text.slice(0, 500) || '(no message)';
}

function registryErrorCode(text: string): number | undefined {
  try {
    const { error_code: code } = JSON.parse(text) as { error_code?: unknown };
    return typeof code === 'number' ? code : undefined;
  } catch {
    return undefined;
  }
}
