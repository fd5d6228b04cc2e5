import { context } from '@opentelemetry/api';
import type { Middleware } from 'koa';
import { traceExemplar, type ExemplarHistogram, type Logger } from '@event-pipeline/common';
import type { RequestTracker } from '../request-tracker';
import { answerFailures } from './error-edge';
import { endServerSpan, matchedRoute, startServerSpan } from './server-span';

export interface RequestEdgeOptions {
  logger: Pick<Logger, 'warn' | 'error'>;
  /** `http_server_request_duration_seconds`, by method, route template and status. */
  httpDuration: ExemplarHistogram<'method' | 'route' | 'status_code'>;
  /** Counts requests in progress, for the shut-down to wait on. */
  requests?: RequestTracker;
  /** True once the shut-down began: every answer closes its connection. */
  isDraining?: () => boolean;
}

/**
 * What every request meets first and leaves through last, in one middleware (these were five,
 * each a promise and a dispatch of its own per request). In the order a request meets them:
 * - it is counted in progress until it is answered, so the shut-down waits for it;
 * - its server span starts, active for the rest of the request (none for probes and scrapes);
 * - whatever the rest fails with is answered as problem+json (`answerFailures`);
 * - while draining, the answer closes its connection, so keep-alive clients move on;
 * - its duration is observed with the status it was answered with, the trace as exemplar;
 * - its span is named by the matched route and ended.
 */
export function requestEdge({ logger, httpDuration, requests, isDraining }: RequestEdgeOptions): Middleware {
  return async function edge(ctx, next) {
    requests?.enter();
    const started = performance.now();
    const server = startServerSpan(ctx);
    try {
      await (server?.active
        ? context.with(server.active, answerFailures, undefined, ctx, next, logger, server.span)
        : answerFailures(ctx, next, logger, server?.span));
    } finally {
      if (isDraining?.() && !ctx.headerSent) ctx.set('connection', 'close');
      httpDuration.observe({
        labels: { method: ctx.method, route: matchedRoute(ctx), status_code: String(ctx.status) },
        value: (performance.now() - started) / 1000,
        exemplarLabels: traceExemplar(server?.span.spanContext()),
      });
      requests?.leave();
      if (server) endServerSpan(server.span, ctx);
    }
  };
}
