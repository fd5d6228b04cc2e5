import { PipelineError } from '@event-pipeline/common';

/**
 * An HTTP error answered as RFC 9457 problem details (`application/problem+json`). Everything
 * the client needs to fix its request goes in `detail` and `extensions`; `expose: false`
 * problems (server faults) answer a generic detail and are logged.
 */
export interface ProblemOptions {
  detail?: string;
  headers?: Record<string, string>;
  /** Extra members of the problem object, e.g. `errors`. */
  extensions?: Record<string, unknown>;
  expose?: boolean;
  cause?: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export class Problem extends PipelineError {
  /** The client may send the same request again and be answered otherwise (408, 429, 5xx). */
  readonly retriable: boolean;
  readonly type: string;
  /** The last part of `type`: `unauthorized`, `overloaded`, ... */
  readonly slug: string;
  readonly detail: string | undefined;
  readonly headers: Record<string, string>;
  readonly extensions: Record<string, unknown>;
  readonly expose: boolean;

  constructor(
    override readonly status: number,
    slug: string,
    readonly title: string,
    { detail, headers = {}, extensions = {}, expose = status < 500 || status === 503, cause }: ProblemOptions = {},
  ) {
    super(detail ?? title, { cause });
    this.type = `urn:event-pipeline:problem:${slug}`;
    this.slug = slug;
    this.detail = detail;
    this.headers = headers;
    this.extensions = extensions;
    this.expose = expose;
    this.retriable = status >= 500 || status === 408 || status === 429;
  }

  toJSON(instance?: string): Record<string, unknown> {
    const standard: Record<string, unknown> = {
      type: this.type,
      title: this.title,
      status: this.status,
      ...(this.expose && this.detail !== undefined ? { detail: this.detail } : {}),
      ...(instance !== undefined ? { instance } : {}),
    };
    // Extension members follow the standard ones and never replace them.
    return { ...standard, ...this.extensions, ...standard };
  }
}

/**
 * One failing field of a request: the item's index (in a batch), the JSON pointer into the
 * request body, and for CloudEvents attributes the attribute (and in binary mode its header).
 */
export interface FieldError {
  index?: number;
  pointer?: string;
  attribute?: string;
  header?: string;
  message: string;
}

export const problems = {
  malformedJson: (detail: string) => new Problem(400, 'malformed-json', 'Malformed JSON body', { detail }),
  invalidEvent: (errors: FieldError[]) =>
    new Problem(400, 'invalid-event', 'Invalid event', {
      detail: `${errors.length} field error(s); nothing of this request was produced`,
      extensions: { errors },
    }),
  invalidHeader: (header: string, message: string) =>
    new Problem(400, 'invalid-header', 'Invalid header', {
      detail: `${header}: ${message}`,
      extensions: { errors: [{ header, message }] },
    }),
  schemaViolation: (errors: FieldError[], total = errors.length) =>
    new Problem(422, 'schema-violation', 'Event data violates its schema', {
      detail: `${total} schema error(s)${total > errors.length ? ` (the first ${errors.length} listed)` : ''}; nothing of this request was produced`,
      extensions: { errors },
    }),
  unauthorized: (detail: string) =>
    new Problem(401, 'unauthorized', 'Unauthorized', {
      detail,
      headers: { 'www-authenticate': 'Bearer realm="events"' },
    }),
  rateLimited: (retryAfterSeconds: number, detail: string) =>
    new Problem(429, 'rate-limited', 'Too many requests', {
      detail,
      headers: { 'retry-after': String(retryAfterSeconds) },
    }),
  requestTimeout: (timeoutMs: number) =>
    new Problem(408, 'request-timeout', 'Request timeout', {
      detail: `the body did not arrive within ${timeoutMs} ms`,
      headers: { connection: 'close' },
    }),
  bodyTooLarge: (limit: number) =>
    new Problem(413, 'body-too-large', 'Request body too large', { detail: `the body limit is ${limit} bytes` }),
  eventTooLarge: (at: { index?: number; pointer?: string }, size: number, limit: number) =>
    new Problem(413, 'event-too-large', 'Event too large', {
      detail: `${at.index !== undefined ? `event ${at.index}` : 'the event'} encodes to ${size} bytes; one event may take at most ${limit}`,
      extensions: { errors: [{ ...at, message: `encodes to ${size} bytes, over ${limit}` }] },
    }),
  unsupportedMediaType: (got: string | undefined, accepted: string[]) =>
    new Problem(415, 'unsupported-media-type', 'Unsupported content type', {
      detail: `content type ${got ? `'${got}'` : '(none)'} is not accepted; send ${accepted.join(' or ')}`,
      headers: { 'accept-post': accepted.join(', ') },
    }),
  /** A bare status left by Koa or the router: 404, 405 (with its Allow header), 501. */
  ofStatus: (status: number, method: string, path: string) =>
    status === 404
      ? problems.notFound(path)
      : status === 405
        ? new Problem(405, 'method-not-allowed', 'Method not allowed', {
            detail: `${method} is not allowed on ${path}`,
          })
        : new Problem(status, `http-${status}`, `HTTP ${status}`, { detail: `${method} ${path}` }),
  unsupportedEncoding: (encoding: string) =>
    new Problem(415, 'unsupported-content-encoding', 'Unsupported content encoding', {
      detail: `content encoding '${encoding}' is not accepted; send the body unencoded`,
      headers: { 'accept-encoding': 'identity' },
    }),
  notFound: (path: string) => new Problem(404, 'not-found', 'Not found', { detail: `no resource at ${path}` }),
  overloaded: (retryAfterSeconds: number, detail: string) =>
    new Problem(503, 'overloaded', 'Too many events in flight', {
      detail: `${detail}; retry later`,
      headers: { 'retry-after': String(retryAfterSeconds) },
    }),
  /** More request bodies are being received than the receive budget holds (MAX_RECEIVING_BYTES). */
  receiveBudgetFull: (retryAfterSeconds: number, budgetBytes: number) =>
    new Problem(503, 'overloaded', 'Too many request bodies being received', {
      detail: `the request bodies being received at once hold the ${budgetBytes} bytes this instance takes; retry later`,
      headers: { 'retry-after': String(retryAfterSeconds), connection: 'close' },
    }),
  /**
   * `reason` is the raw error (Kafka's own words, broker addresses): it goes to the log and the
   * trace, never to the client, who may be anyone.
   */
  unavailable: (retryAfterSeconds: number, reason: string, cause?: unknown) =>
    new Problem(503, 'kafka-unavailable', 'Kafka unavailable', {
      detail: 'Kafka cannot take the events of this request now; nothing of it was acknowledged, retry later',
      headers: { 'retry-after': String(retryAfterSeconds) },
      cause: cause ?? new Error(reason),
    }),
  /** As `unavailable`: `reason` (the registry's error, its address) is for the log and the trace only. */
  schemaRegistryUnavailable: (retryAfterSeconds: number, reason: string) =>
    new Problem(503, 'schema-registry-unavailable', 'Schema registry unavailable', {
      detail:
        'the schema of an event type of this request is not known yet and the schema registry cannot be reached; nothing of this request was produced, retry later',
      headers: { 'retry-after': String(retryAfterSeconds) },
      cause: new Error(reason),
    }),
  shuttingDown: (retryAfterSeconds: number) =>
    new Problem(503, 'shutting-down', 'Shutting down', {
      detail: 'this instance is shutting down; retry on another',
      headers: { 'retry-after': String(retryAfterSeconds), connection: 'close' },
    }),
};
