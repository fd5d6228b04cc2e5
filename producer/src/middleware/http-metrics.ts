import { context, trace } from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';
import type { Context, Middleware } from 'koa';
import { traceExemplar, type ExemplarHistogram } from '@event-pipeline/common';

/** The route template the router matched (never the raw path: label values stay bounded). */
export function matchedRoute(ctx: Context): string {
  const route = (ctx as Context & { _matchedRoute?: unknown })._matchedRoute;
  return typeof route === 'string' ? route : 'unmatched';
}

/**
 * Gives the request's HTTP server span its route: the HTTP instrumentation reads it when the
 * answer is sent, naming the span `POST /events` with `http.route`. (The Koa instrumentation did
 * this too, at the price of a span per router layer; the services run without it.)
 */
function routeServerSpan(route: string): void {
  const rpc = getRPCMetadata(context.active());
  if (rpc?.type === RPCType.HTTP) rpc.route = route;
}

/**
 * Observes each request's duration by method, route and status, and names its server span by
 * the route. It wraps the error edge, so it
 * sees the status the edge answered with, not the one before a failure was turned into a problem.
 */
export function observeHttpDuration(histogram: ExemplarHistogram<'method' | 'route' | 'status_code'>): Middleware {
  return async function observeRequest(ctx, next) {
    const started = performance.now();
    try {
      await next();
    } finally {
      const route = matchedRoute(ctx);
      if (route !== 'unmatched') routeServerSpan(route);
      histogram.observe({
        labels: { method: ctx.method, route, status_code: String(ctx.status) },
        value: (performance.now() - started) / 1000,
        // The request's server span is active here: its trace becomes the observation's exemplar.
        exemplarLabels: traceExemplar(trace.getActiveSpan()?.spanContext()),
      });
    }
  };
}
