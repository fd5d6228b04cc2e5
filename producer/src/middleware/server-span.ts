import {
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  type Attributes,
  type Context as OtelContext,
  type Span,
} from '@opentelemetry/api';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
  ATTR_URL_QUERY,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';
import type { Context } from 'koa';
import { recordFailureAs } from '@event-pipeline/common';

const tracer = trace.getTracer('@event-pipeline/producer');

/** The route template the router matched (never the raw path: label values stay bounded). */
export function matchedRoute(ctx: Context): string {
  const route = (ctx as Context & { _matchedRoute?: unknown })._matchedRoute;
  return typeof route === 'string' ? route : 'unmatched';
}

/** Probes and scrapes are not the service's work: their spans would drown the traces. */
export function isOperationalPath(path: string): boolean {
  return path === '/metrics' || path === '/health' || path.startsWith('/health/');
}

/** The request's attributes (HTTP semantic conventions), for a span that is recorded. */
function requestAttributes(ctx: Context): Attributes {
  const { req } = ctx;
  const host = req.headers.host ?? '';
  const colon = host.lastIndexOf(':');
  const port = colon > host.lastIndexOf(']') ? Number(host.slice(colon + 1)) : undefined;
  const attributes: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: ctx.method,
    [ATTR_URL_SCHEME]: ctx.protocol,
    [ATTR_URL_PATH]: ctx.path,
    [ATTR_SERVER_ADDRESS]: colon > host.lastIndexOf(']') ? host.slice(0, colon) : host,
    [ATTR_NETWORK_PROTOCOL_VERSION]: req.httpVersion,
    [ATTR_NETWORK_PEER_ADDRESS]: req.socket.remoteAddress,
    [ATTR_NETWORK_PEER_PORT]: req.socket.remotePort,
    [ATTR_CLIENT_ADDRESS]: req.socket.remoteAddress,
  };
  if (port !== undefined && Number.isInteger(port)) attributes[ATTR_SERVER_PORT] = port;
  if (ctx.querystring !== '') attributes[ATTR_URL_QUERY] = ctx.querystring;
  const agent = req.headers['user-agent'];
  if (agent !== undefined) attributes[ATTR_USER_AGENT_ORIGINAL] = agent;
  return attributes;
}

/** A request's server span, and the context that carries it while the request is worked on. */
export interface ServerSpan {
  span: Span;
  /** Undefined when there is no trace to carry: tracing is off and the span is the no-op one. */
  active: OtelContext | undefined;
}

/**
 * The HTTP server span of a request (`POST /events`, kind SERVER, the HTTP semantic conventions'
 * attributes), continuing the client's `traceparent`; none for probes and scrapes. The request
 * edge makes its context active while the request's middleware run, so that the send span and
 * the exemplars see it, and ends it with `endServerSpan`.
 *
 * The HTTP instrumentation made this span before; it also binds the request's context to the
 * request's and response's emitters (every listener Koa and its helpers add is wrapped) and
 * works out every attribute before the sampler decides, which cost more than the rest of the
 * trace. Here attributes are set only on a span that is recorded, and the context travels the
 * middleware's async chain by itself. The services run the HTTP instrumentation for outgoing
 * calls only (observability/src/telemetry.ts).
 */
export function startServerSpan(ctx: Context): ServerSpan | undefined {
  if (isOperationalPath(ctx.path)) return undefined;
  const parent = propagation.extract(ROOT_CONTEXT, ctx.req.headers);
  const span = tracer.startSpan(ctx.method, { kind: SpanKind.SERVER }, parent);
  if (span.isRecording()) span.setAttributes(requestAttributes(ctx));
  return { span, active: isSpanContextValid(span.spanContext()) ? trace.setSpan(parent, span) : undefined };
}

/** Names the span by the route the router matched, records the answer's status, and ends it. */
export function endServerSpan(span: Span, ctx: Context): void {
  if (span.isRecording()) {
    const route = matchedRoute(ctx);
    if (route !== 'unmatched') {
      span.updateName(`${ctx.method} ${route}`);
      span.setAttribute(ATTR_HTTP_ROUTE, route);
    }
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, ctx.status);
    // The HTTP conventions' error: the status code as its type, and no message (the code says it).
    if (ctx.status >= 500) recordFailureAs(span, String(ctx.status));
  }
  span.end();
}
