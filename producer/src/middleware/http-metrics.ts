import { trace } from '@opentelemetry/api';
import type { Context, Middleware } from 'koa';
import { traceExemplar, type ExemplarHistogram } from '@event-pipeline/common';

/** The route template the router matched (never the raw path: label values stay bounded). */
export function matchedRoute(ctx: Context): string {
  const route = (ctx as Context & { _matchedRoute?: unknown })._matchedRoute;
  return typeof route === 'string' ? route : 'unmatched';
}

/**
 * Observes each request's duration by method, route and status. It wraps the error edge, so it
 * sees the status the edge answered with, not the one before a failure was turned into a problem.
 */
export function observeHttpDuration(histogram: ExemplarHistogram<'method' | 'route' | 'status_code'>): Middleware {
  return async function observeRequest(ctx, next) {
    const started = performance.now();
    try {
      await next();
    } finally {
      histogram.observe({
        labels: { method: ctx.method, route: matchedRoute(ctx), status_code: String(ctx.status) },
        value: (performance.now() - started) / 1000,
        // The request's server span is active here: its trace becomes the observation's exemplar.
        exemplarLabels: traceExemplar(trace.getActiveSpan()?.spanContext()),
      });
    }
  };
}
