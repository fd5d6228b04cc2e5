import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { NodeSDKConfiguration } from '@opentelemetry/sdk-node';

type SpanExporter = NodeSDKConfiguration['traceExporter'];
type Env = Record<string, string | undefined>;

/** One JSON log line, in the shape of the services' own (pino) lines. */
export interface StatusLine {
  level: 'warn' | 'info';
  msg: string;
  [field: string]: unknown;
}

export interface TraceExportStatus {
  /** The last export failed (none succeeded since). */
  readonly failing: boolean;
  /** An export failed: said once, on the first failure after a success (or after start). */
  failed(error: unknown): void;
  /** An export succeeded: after failures, said once that the backend answers again. */
  succeeded(): void;
}

export const TRACING_OFF_HINT = 'turn tracing off with OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none';

/**
 * Whether the trace backend answers, told to the log only when that changes. Without a backend
 * (a service started alone, as in development) every export fails, every few seconds: one line
 * says so, with where spans go and how to stop sending them, and the next is the recovery.
 */
export function createTraceExportStatus({
  endpoint,
  write,
}: {
  endpoint: string;
  write: (line: StatusLine) => void;
}): TraceExportStatus {
  let failedSince: number | undefined;
  let failures = 0;
  return {
    get failing() {
      return failedSince !== undefined;
    },
    failed(error) {
      failures += 1;
      if (failedSince !== undefined) return;
      failedSince = Date.now();
      write({
        level: 'warn',
        msg: 'trace export failing: spans are dropped until the trace backend answers',
        endpoint,
        err: describeError(error),
        hint: TRACING_OFF_HINT,
      });
    },
    succeeded() {
      if (failedSince === undefined) return;
      write({
        level: 'info',
        msg: 'trace export recovered',
        endpoint,
        failed_exports: failures,
        failing_for_ms: Date.now() - failedSince,
      });
      failedSince = undefined;
      failures = 0;
    },
  };
}

/**
 * "connect ECONNREFUSED 127.0.0.1:4318". Node tries each address of `localhost` in turn and
 * reports an AggregateError with an empty message, so its parts are named instead.
 */
export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return [...new Set(error.errors.map(describeError))].join('; ');
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return error.message || (typeof code === 'string' ? code : error.name);
  }
  return String(error);
}

/**
 * The exporter, telling `status` how each export went. The failures it saw are remembered so
 * that the global error handler, which the batch span processor also hands each of them to,
 * can leave them out (`wasReported`).
 */
export function reportingExporter(
  exporter: SpanExporter,
  status: TraceExportStatus,
): { exporter: SpanExporter; wasReported: (error: unknown) => boolean } {
  const reported = new WeakSet<object>();
  const reporting: SpanExporter = {
    export(spans, resultCallback) {
      exporter.export(spans, (result: ExportResult) => {
        if (result.code === ExportResultCode.SUCCESS) {
          status.succeeded();
          resultCallback(result);
          return;
        }
        // The processor reports a failure without an error as a new Error: give it one to know.
        const error = result.error ?? new Error('span export failed');
        reported.add(error);
        status.failed(error);
        resultCallback({ ...result, error });
      });
    },
    shutdown: () => exporter.shutdown(),
    ...(exporter.forceFlush ? { forceFlush: () => exporter.forceFlush!() } : {}),
  };
  return {
    exporter: reporting,
    wasReported: (error) => typeof error === 'object' && error !== null && reported.has(error),
  };
}

export type OtlpProtocol = 'grpc' | 'http/json' | 'http/protobuf';

/**
 * The OTLP protocol when OTEL_TRACES_EXPORTER asks for OTLP alone (or nothing, the default);
 * undefined for any other choice (console, zipkin, none, a list), which the SDK keeps building
 * itself, and for a protocol the SDK would warn about.
 */
export function otlpProtocolOf(env: Env): OtlpProtocol | undefined {
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').trim();
  if (exporters !== '' && exporters !== 'otlp') return undefined;
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? '').trim();
  if (protocol === '') return 'http/protobuf';
  return protocol === 'grpc' || protocol === 'http/json' || protocol === 'http/protobuf' ? protocol : undefined;
}

/** Where the OTLP trace exporter sends, by the rules of the OTLP exporter's configuration. */
export function traceEndpoint(env: Env, protocol: OtlpProtocol): string {
  const own = (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? '').trim();
  if (own) return own;
  const base = (env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '').trim();
  if (protocol === 'grpc') return base || 'http://localhost:4317';
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : 'http://localhost:4318/v1/traces';
}
