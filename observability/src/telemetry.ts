import { readFileSync } from 'node:fs';
import path from 'node:path';
import { diag, DiagConsoleLogger, DiagLogLevel } from '@opentelemetry/api';
import { loggingErrorHandler, setGlobalErrorHandler, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import {
  createTraceExportStatus,
  otlpProtocolOf,
  reportingExporter,
  traceEndpoint,
  type OtlpProtocol,
  type StatusLine,
  type TraceExportStatus,
} from './trace-export-status';
import { watchSpanQueue } from './span-queue';

/** Who is sending telemetry: read from the package.json nearest to the program's entry file. */
export interface ServiceIdentity {
  name: string;
  version?: string;
}

/**
 * `@event-pipeline/producer` → `producer`: the service names of the contract, with nothing to
 * configure. OTEL_SERVICE_NAME (or service.name in OTEL_RESOURCE_ATTRIBUTES) still wins.
 */
export function identifyService(entryFile: string | undefined): ServiceIdentity | undefined {
  if (!entryFile) return undefined;
  for (let dir = path.dirname(path.resolve(entryFile)); ; dir = path.dirname(dir)) {
    const manifest = readJson(path.join(dir, 'package.json'));
    if (manifest && typeof manifest.name === 'string') {
      const name = manifest.name.replace(/^@[^/]+\//, '');
      return typeof manifest.version === 'string' ? { name, version: manifest.version } : { name };
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Requests that are not the service's work: probes and scrapes would drown the traces. */
export function isOperationalRequest(url: string | undefined): boolean {
  const pathname = (url ?? '').split('?', 1)[0] ?? '';
  return pathname === '/metrics' || pathname === '/health' || pathname.startsWith('/health/');
}

type Env = Record<string, string | undefined>;

function named(env: Env, key: string): boolean {
  return (env[key] ?? '').trim() !== '';
}

function isTrue(value: string | undefined): boolean {
  return (value ?? '').trim().toLowerCase() === 'true';
}

/**
 * The OpenTelemetry Node SDK as both services run it, or nothing with OTEL_SDK_DISABLED=true
 * (an instrumentation patches its module as soon as it is constructed, so a disabled SDK must
 * not construct any). Traces go through the standard OTEL_* variables (OTLP by default,
 * parent-based sampling unless OTEL_TRACES_SAMPLER says otherwise), instrumented by the official
 * HTTP (and fetch), KafkaJS and pino instrumentations. Metrics are Prometheus's
 * (prom-client), so the SDK exports none unless OTEL_METRICS_EXPORTER asks for them; logs go to
 * stdout with trace and span ids in them, and to the SDK only if OTEL_LOGS_EXPORTER asks. A trace
 * backend that does not answer is one warning line on `write` (stdout), and its recovery one more.
 */
export function createTelemetry(
  env: Env = process.env,
  entryFile = process.argv[1],
  write: (line: string) => void = (line) => process.stdout.write(line),
): NodeSDK | undefined {
  if (isTrue(env.OTEL_SDK_DISABLED)) return undefined;
  const identity = identifyService(entryFile);
  // OTEL_LOG_LEVEL set by hand: OpenTelemetry's own diagnostics, every one of them, as they come.
  const diagnosed = named(env, 'OTEL_LOG_LEVEL');
  if (!diagnosed) diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);
  const protocol = otlpProtocolOf(env);
  const exporting = !diagnosed && protocol ? quietWhileFailing(env, protocol, identity, write) : undefined;
  const serviceNamed =
    named(env, 'OTEL_SERVICE_NAME') || /(^|,)\s*service\.name=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? '');
  return new NodeSDK({
    ...(exporting ? { spanProcessors: [watchedBatchProcessor(exporting, env)] } : {}),
    ...(identity && !serviceNamed ? { serviceName: identity.name } : {}),
    ...(identity?.version ? { resource: resourceFromAttributes({ [ATTR_SERVICE_VERSION]: identity.version }) } : {}),
    ...(named(env, 'OTEL_METRICS_EXPORTER') ? {} : { metricReaders: [] }),
    ...(named(env, 'OTEL_LOGS_EXPORTER') ? {} : { logRecordProcessors: [] }),
    instrumentations: instrumentationsFor(identity, env),
    ...(propagatorFor(env) ? { textMapPropagator: propagatorFor(env)! } : {}),
  });
}

/**
 * The propagator when OTEL_PROPAGATORS does not name one: W3C trace context alone. The SDK's
 * default adds W3C baggage, which would copy whatever `baggage` header a client sends into the
 * headers of every record its request produces, and on into the consumer's outgoing calls.
 * A client's `traceparent` is continued; its baggage is dropped unless OTEL_PROPAGATORS asks.
 */
export function propagatorFor(env: Env): W3CTraceContextPropagator | undefined {
  return named(env, 'OTEL_PROPAGATORS') ? undefined : new W3CTraceContextPropagator();
}

/**
 * The OTLP trace exporter the SDK would build from OTEL_*, telling the log once that exports
 * fail and once that they work again. By default the SDK logs each failed export (every few
 * seconds) as a JSON error with its stack, through the global error handler; those failures are
 * left out of it here, and anything else still goes to the default handler.
 */
function quietWhileFailing(
  env: Env,
  protocol: OtlpProtocol,
  identity: ServiceIdentity | undefined,
  write: (line: string) => void,
): { exporter: SpanExporter; status: TraceExportStatus } {
  const status = createTraceExportStatus({
    endpoint: traceEndpoint(env, protocol),
    write: ({ level, msg, ...fields }: StatusLine) =>
      write(
        JSON.stringify({
          level,
          time: new Date().toISOString(),
          ...(identity ? { service: identity.name } : {}),
          ...fields,
          msg,
        }) + '\n',
      ),
  });
  // The exporters read their endpoint, headers and timeout from process.env themselves.
  const otlp =
    protocol === 'grpc'
      ? new GrpcTraceExporter()
      : protocol === 'http/json'
        ? new JsonTraceExporter()
        : new ProtobufTraceExporter();
  const { exporter, wasReported } = reportingExporter(otlp, status);
  const fallback = loggingErrorHandler();
  setGlobalErrorHandler((error) => {
    if (!wasReported(error)) fallback(error);
  });
  return { exporter, status };
}

// Read by roomForSpans in @event-pipeline/common (common/src/telemetry.ts), which services use.
const SPAN_QUEUE_FILL = Symbol.for('@event-pipeline/span-queue-fill');

/**
 * The batch span processor the SDK would build from OTEL_BSP_*, whose queue the services can
 * see filling (roomForSpans): the consumer waits for room instead of having spans dropped. While
 * exports fail the queue reads as empty, so that a missing backend never holds a service up.
 */
function watchedBatchProcessor({ exporter, status }: ReturnType<typeof quietWhileFailing>, env: Env): SpanProcessor {
  const setting = (name: string): number | undefined => {
    const value = Number((env[name] ?? '').trim() || Number.NaN);
    return Number.isFinite(value) && value >= 0 ? value : undefined;
  };
  const maxQueueSize = setting('OTEL_BSP_MAX_QUEUE_SIZE') ?? 2048;
  const queue = watchSpanQueue(maxQueueSize);
  const optional = {
    scheduledDelayMillis: setting('OTEL_BSP_SCHEDULE_DELAY'),
    exportTimeoutMillis: setting('OTEL_BSP_EXPORT_TIMEOUT'),
    maxExportBatchSize: setting('OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
  };
  const processor = new BatchSpanProcessor({
    exporter,
    maxQueueSize,
    selfObsMeterProvider: queue.meterProvider,
    ...Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== undefined)),
  });
  (globalThis as { [SPAN_QUEUE_FILL]?: () => number })[SPAN_QUEUE_FILL] = () => (status.failing ? 0 : queue.fill());
  return processor;
}

/** The instrumentations, by name, that the service identified by `identity` runs with. */
export function instrumentationsFor(identity: ServiceIdentity | undefined, env: Env = {}): Instrumentation[] {
  const instrumentations: Instrumentation[] = [
    // Outgoing calls (a handler's webhook, say) are traced only inside a trace, and carry it on.
    // The producer makes its HTTP server spans itself (producer/src/middleware/server-span.ts):
    // the instrumentation's binding of every request's emitters cost more than the rest of a
    // trace.
    new HttpInstrumentation({
      ignoreIncomingRequestHook: (request) => isOperationalRequest(request.url),
      requireParentforOutgoingSpans: true,
      disableIncomingRequestInstrumentation: identity?.name === 'producer',
    }),
    new UndiciInstrumentation({ requireParentforSpans: true }),
    // No Koa instrumentation: its span per router layer (`router - /events`) told only the
    // route, which the producer sets on the HTTP server span itself (middleware/server-span.ts), and cost
    // a span and a context switch per request.
    new PinoInstrumentation({ disableLogSending: !named(env, 'OTEL_LOGS_EXPORTER') }),
  ];
  // No KafkaJS instrumentation: the producer's publisher makes its send spans itself
  // (producer/src/kafka/send-spans.ts), and the consumer, under eachBatch, its process and
  // dead-letter spans (a `poll` span per batch on a new root, and process spans only linked to
  // the producer's, would break each event's trace and double the spans to export).
  return instrumentations;
}
