import Router from '@koa/router';
import { trace } from '@opentelemetry/api';
import Koa, { type Context } from 'koa';
import {
  errorMessage,
  exposeMetrics,
  toKafkaRecord,
  traceExemplar,
  type Logger,
  type MetricsRegistry,
} from '@event-pipeline/common';
import type { ApiKeys } from './api-keys';
import { toCloudEvent } from './events/envelope';
import { isValidIdempotencyKey } from './events/idempotency';
import { itemLocation, readEvents } from './events/modes';
import { MAX_LISTED_ERRORS, SchemaRegistry } from './events/schemas';
import type { ItemLocation } from './events/validate';
import type { IngestOutcome, ProducerMetrics } from './metrics';
import { buildOpenApiDocument } from './openapi';
import type { FieldError } from './problem';
import { Problem, PROBLEM_CONTENT_TYPE, problems } from './problem';
import { PublishError, type EventPublisher } from './publisher';
import type { RateLimiter } from './rate-limit';
import type { RequestTracker } from './request-tracker';

export interface AppOptions {
  publisher: EventPublisher;
  logger: Logger;
  registry: MetricsRegistry;
  metrics: ProducerMetrics;
  bodyLimitBytes: number;
  /** Bound on receiving a body once the headers are in (408 past it). */
  bodyTimeoutMs?: number;
  maxEventsPerRequest: number;
  /** Event types with a JSON Schema for their data; none when absent. */
  schemas?: SchemaRegistry;
  /** Refuse (422) events whose type has no schema. */
  schemasRequired?: boolean;
  /** When enabled, POST /events needs a valid `Authorization: Bearer <key>`. */
  apiKeys?: ApiKeys;
  /** Requests per caller (API key, else client address); none when absent. */
  rateLimiter?: RateLimiter;
  /** The API's version in the OpenAPI document. */
  version?: string;
  eventSource: string;
  retryAfterSeconds: number;
  /** True once shut-down began: readiness fails and new events are turned away. */
  isDraining?: () => boolean;
  /** Counts requests in progress, for the shut-down to wait on. */
  requests?: RequestTracker;
}

function matchedRoute(ctx: Context): string {
  const route = (ctx as Context & { _matchedRoute?: unknown })._matchedRoute;
  return typeof route === 'string' ? route : 'unmatched';
}

function toProblem(error: unknown): Problem {
  if (error instanceof Problem) return error;
  const status = (error as { status?: unknown })?.status;
  const expose = (error as { expose?: unknown })?.expose === true;
  if (typeof status === 'number' && status >= 400 && status < 500 && expose) {
    const headers = (error as { headers?: Record<string, string> }).headers ?? {};
    return new Problem(status, `http-${status}`, errorMessage(error), { headers });
  }
  return new Problem(500, 'internal', 'Internal server error', {
    detail: 'an unexpected error occurred',
    expose: false,
    cause: error,
  });
}

/** Builds the events API. No environment, no listening: `main.ts` does those. */
export function createApp(options: AppOptions): Koa {
  const { publisher, logger, registry, metrics } = options;
  const isDraining = options.isDraining ?? (() => false);
  const app = new Koa();
  const router = new Router();

  // The one error edge: every failure leaves as problem+json, server faults are logged.
  app.use(async (ctx, next) => {
    const started = performance.now();
    options.requests?.enter();
    try {
      await next();
      if (ctx.body === undefined && ctx.status >= 400) throw problems.ofStatus(ctx.status, ctx.method, ctx.path);
    } catch (error) {
      const problem = toProblem(error);
      // The request's span says why it was answered so (a 5xx with the exception itself).
      const span = trace.getActiveSpan();
      span?.setAttribute('problem.type', problem.type);
      if (problem.status >= 500) span?.recordException(problem.cause instanceof Error ? problem.cause : problem);
      if (problem.status >= 500 && problem.status !== 503) {
        logger.error(
          { err: errorMessage(problem.cause ?? problem), method: ctx.method, path: ctx.path },
          'request failed',
        );
      }
      ctx.status = problem.status;
      ctx.set(problem.headers);
      // An answer before the whole body arrived (413, 415, ...) closes the connection: the rest
      // of the body is not read, so the connection cannot carry another request.
      if (!ctx.req.complete) ctx.set('connection', 'close');
      ctx.type = PROBLEM_CONTENT_TYPE;
      ctx.body = JSON.stringify(problem.toJSON(ctx.path));
    } finally {
      // While draining, every answer closes its connection (also those of requests that began
      // before), so keep-alive clients move on and the server can close.
      if (isDraining() && !ctx.headerSent) ctx.set('connection', 'close');
      // The request's server span is active here: its trace becomes the observation's exemplar.
      metrics.httpDuration.observe({
        labels: { method: ctx.method, route: matchedRoute(ctx), status_code: String(ctx.status) },
        value: (performance.now() - started) / 1000,
        exemplarLabels: traceExemplar(trace.getActiveSpan()?.spanContext()),
      });
      options.requests?.leave();
    }
  });

  const count = (outcome: IngestOutcome, events: number): void => metrics.ingested.inc({ outcome }, events);

  const schemas = options.schemas ?? SchemaRegistry.empty();
  const openApi = JSON.stringify(
    buildOpenApiDocument({
      schemas,
      apiKeysEnabled: options.apiKeys?.enabled ?? false,
      maxEventsPerRequest: options.maxEventsPerRequest,
      bodyLimitBytes: options.bodyLimitBytes,
      version: options.version ?? '0.1.0',
    }),
  );
  const schemaList = JSON.stringify({
    schemas: schemas.list().map((schema) => ({
      ...schema,
      latest: schemas.latest().some((latest) => latest.id === schema.id),
    })),
  });

  router.post('/events', async (ctx) => {
    if (isDraining()) {
      count('failed', 1);
      throw problems.shuttingDown(options.retryAfterSeconds);
    }
    // Who is calling, before anything of the body is read: an API key's identity, else the address.
    let caller = `address:${ctx.ip}`;
    // Idempotent ids are scoped per API key; without keys one scope for all, so a retry from
    // another address (a new network, another proxy) still gets the same ids.
    let idempotencyScope = 'anonymous';
    if (options.apiKeys?.enabled) {
      const result = options.apiKeys.authenticate(ctx.get('authorization'));
      if ('refused' in result) {
        count('unauthorized', 1);
        throw problems.unauthorized(result.refused);
      }
      caller = `key:${result.id}`;
      idempotencyScope = caller;
    }
    if (options.rateLimiter) {
      const decision = options.rateLimiter.take(caller);
      if (!decision.allowed) {
        count('overloaded', 1);
        throw problems.rateLimited(decision.retryAfterSeconds, 'this caller sent more requests than its rate limit');
      }
    }

    let records;
    let ids: string[];
    let locate: (index: number) => ItemLocation = () => ({});
    let received = 1;
    try {
      const idempotencyKey = ctx.get('idempotency-key');
      if (idempotencyKey !== '' && !isValidIdempotencyKey(idempotencyKey)) {
        throw problems.invalidHeader('idempotency-key', 'must be 1 to 255 visible ASCII characters');
      }
      const request = await readEvents(ctx, {
        limit: options.bodyLimitBytes,
        timeoutMs: options.bodyTimeoutMs ?? 10_000,
        maxEvents: options.maxEventsPerRequest,
        onItems: (count) => (received = count),
      });
      const acceptedAt = new Date();
      const context = {
        source: options.eventSource,
        time: acceptedAt.toISOString(),
        ...(idempotencyKey !== '' ? { idempotency: { scope: idempotencyScope, key: idempotencyKey } } : {}),
      };
      const events = request.events.map((candidate, index) => toCloudEvent(candidate, index, context));
      const errors: FieldError[] = [];
      locate = (index) => itemLocation(request, index);
      events.forEach((event, index) => {
        schemas.check(event, locate(index), { required: options.schemasRequired ?? false, errors });
      });
      if (errors.length > 0) throw problems.schemaViolation(errors.slice(0, MAX_LISTED_ERRORS), errors.length);
      records = events.map((event) => toKafkaRecord(event, acceptedAt.getTime()));
      ids = events.map((event) => event.id);
    } catch (error) {
      count('invalid', received);
      throw error;
    }

    try {
      await publisher.publish(records);
    } catch (error) {
      if (!(error instanceof PublishError)) throw error;
      switch (error.reason.failure) {
        case 'too-large': {
          count('invalid', records.length);
          const { index, size, limit } = error.reason;
          throw problems.eventTooLarge(locate(index), size, limit);
        }
        case 'overloaded':
          count('overloaded', records.length);
          throw problems.overloaded(options.retryAfterSeconds, error.message);
        default:
          count('failed', records.length);
          throw problems.unavailable(options.retryAfterSeconds, error.message);
      }
    }
    count('accepted', records.length);
    ctx.status = 202;
    ctx.body = { ids };
  });

  const ready = (ctx: Context): void => {
    const readiness = publisher.readiness();
    if (isDraining()) {
      ctx.status = 503;
      ctx.body = { status: 'not ready', reason: 'shutting down' };
    } else if (!readiness.ready) {
      ctx.status = 503;
      ctx.body = { status: 'not ready', reason: readiness.reason };
    } else {
      ctx.body = { status: 'ready' };
    }
    ctx.set('cache-control', 'no-store');
  };
  router.get('/health/live', (ctx) => {
    ctx.set('cache-control', 'no-store');
    ctx.body = { status: 'live' };
  });
  router.get('/health/ready', ready);
  router.get('/health', ready);
  router.get('/schemas', (ctx) => {
    ctx.type = 'application/json';
    ctx.body = schemaList;
  });
  router.get('/openapi.json', (ctx) => {
    ctx.type = 'application/json';
    ctx.body = openApi;
  });
  router.get('/metrics', async (ctx) => {
    const { contentType, body } = await exposeMetrics(registry, ctx.req);
    ctx.vary('accept');
    ctx.type = contentType;
    ctx.body = body;
  });

  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
