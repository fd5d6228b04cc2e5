import { METHODS, type IncomingHttpHeaders } from 'node:http';
import Router from '@koa/router';
import Koa, { type Context, type Middleware } from 'koa';
import { exposeMetrics, type Logger, type MetricsExposition, type MetricsRegistry } from '@event-pipeline/common';
import type { ApiKeys } from './api-keys';
import { SchemaRegistryUnavailableError } from '@event-pipeline/common';
import { DataSchemas, type SchemaCatalog } from './events/data-schemas';
import type { ProducerMetrics } from './metrics';
import { authenticate } from './middleware/authenticate';
import { checkEvents } from './middleware/check-events';
import { refuseWhileDraining } from './middleware/drain';
import { countOutcomes } from './middleware/count-outcomes';
import type { IngestState } from './middleware/ingest-state';
import { limitRate, limitRefusedAuthentication } from './middleware/limit-rate';
import { publishEvents } from './middleware/publish-events';
import { readRequest } from './middleware/read-request';
import { requestEdge } from './middleware/request-edge';
import { buildOpenApiDocument } from './openapi';
import { problems } from './problem';
import type { EventPublisher, Readiness } from './kafka/event-publisher';
import type { RateLimiter } from './rate-limit';
import type { ReceiveBudget } from './receive-budget';
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
  /** Bytes of request bodies being received at once; unbounded when absent. */
  receiveBudget?: ReceiveBudget;
  /** Event types with a schema for their data (the schema folder or the registry); none when absent. */
  schemas?: SchemaCatalog;
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
  /** Whether the producer can take events; the publisher's readiness when absent. */
  readiness?: () => Readiness;
  /** The answer to a scrape; this process's registry when absent. */
  exposeMetrics?: (request: { headers: IncomingHttpHeaders }) => Promise<MetricsExposition>;
}

/** The middleware of POST /events, in the order a request meets them; each refusal answers at once. */
function ingestMiddleware(
  options: AppOptions,
  { schemas, metrics }: { schemas: SchemaCatalog; metrics: ProducerMetrics },
): Array<Middleware<IngestState>> {
  const { isDraining, apiKeys, rateLimiter, retryAfterSeconds } = options;
  // Outermost: whatever the request ends as, it is counted here, once.
  const chain: Array<Middleware<IngestState>> = [countOutcomes(metrics.ingested)];
  if (isDraining) chain.push(refuseWhileDraining({ isDraining, retryAfterSeconds }));
  // Who is calling, and whether it may, before anything of the body is read.
  if (apiKeys?.enabled) {
    const authenticateCaller = authenticate({ apiKeys });
    chain.push(
      rateLimiter ? limitRefusedAuthentication({ rateLimiter, authenticate: authenticateCaller }) : authenticateCaller,
    );
  }
  if (rateLimiter) chain.push(limitRate({ rateLimiter }));
  chain.push(
    readRequest({
      bodyLimitBytes: options.bodyLimitBytes,
      bodyTimeoutMs: options.bodyTimeoutMs ?? 10_000,
      maxEventsPerRequest: options.maxEventsPerRequest,
      ...(options.receiveBudget ? { receiveBudget: options.receiveBudget } : {}),
      retryAfterSeconds,
    }),
    checkEvents({
      schemas,
      schemasRequired: options.schemasRequired ?? false,
      eventSource: options.eventSource,
      retryAfterSeconds,
    }),
    publishEvents({ publisher: options.publisher, retryAfterSeconds }),
  );
  return chain;
}

/**
 * Builds the events API. No environment, no listening: `main.ts` does those. Every request
 * meets the app's middleware in the order used here, then its route's.
 */
export function createApp(options: AppOptions): Koa {
  const { publisher, logger, registry, metrics } = options;
  const isDraining = options.isDraining ?? (() => false);
  const readinessOf = options.readiness ?? (() => publisher.readiness());
  const scrape = options.exposeMetrics ?? ((request) => exposeMetrics(registry, request));
  const app = new Koa();
  // Every method Node parses counts as implemented, so one a route does not have (TRACE, say)
  // is the client's 405 with Allow, not the server's 501 that the router answers by default.
  const router = new Router({ methods: METHODS });

  // Outermost: counted, traced, failures answered as problems, timed (one middleware).
  app.use(
    requestEdge({
      logger,
      httpDuration: metrics.httpDuration,
      ...(options.requests ? { requests: options.requests } : {}),
      ...(options.isDraining ? { isDraining: options.isDraining } : {}),
    }),
  );

  const schemas = options.schemas ?? DataSchemas.empty();
  router.post<IngestState>('/events', ...ingestMiddleware(options, { schemas, metrics }));

  // Built again only when the set of schemas changed (the registry's refresh makes a new one).
  let documentsOf: { schemas: DataSchemas; openApi: string; schemaList: string } | undefined;
  const documents = async (ctx: Context): Promise<{ openApi: string; schemaList: string } | undefined> => {
    let current: DataSchemas;
    try {
      current = await schemas.current();
    } catch (error) {
      if (!(error instanceof SchemaRegistryUnavailableError)) throw error;
      throw problems.schemaRegistryUnavailable(options.retryAfterSeconds, error.message);
    }
    if (documentsOf?.schemas !== current) {
      documentsOf = {
        schemas: current,
        openApi: JSON.stringify(
          buildOpenApiDocument({
            schemas: current,
            apiKeysEnabled: options.apiKeys?.enabled ?? false,
            maxEventsPerRequest: options.maxEventsPerRequest,
            bodyLimitBytes: options.bodyLimitBytes,
            version: options.version ?? '0.1.0',
          }),
        ),
        schemaList: JSON.stringify({
          schemas: current.list().map((schema) => ({
            ...schema,
            latest: current.latest().some((latest) => latest.id === schema.id),
          })),
        }),
      };
    }
    ctx.type = 'application/json';
    return documentsOf;
  };

  const ready = (ctx: Context): void => {
    const readiness = readinessOf();
    if (isDraining()) {
      ctx.status = 503;
      ctx.body = { status: 'not ready', reason: 'shutting down' };
    } else if (!readiness.ready) {
      // Open to anyone: Kafka's own words (broker addresses, its errors) stay in the log, where
      // the publisher writes them as it turns not ready.
      ctx.status = 503;
      ctx.body = { status: 'not ready', reason: readiness.publicReason ?? 'kafka unavailable' };
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
  router.get('/schemas', async (ctx) => {
    ctx.body = (await documents(ctx))?.schemaList;
  });
  router.get('/openapi.json', async (ctx) => {
    ctx.body = (await documents(ctx))?.openApi;
  });
  router.get('/metrics', async (ctx) => {
    const { contentType, body } = await scrape(ctx.req);
    ctx.vary('accept');
    ctx.type = contentType;
    ctx.body = body;
  });

  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
