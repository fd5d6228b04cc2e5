import { trace } from '@opentelemetry/api';
import { withTimeout } from './timeout';

interface Flushable {
  forceFlush(): Promise<void>;
}

function isFlushable(value: unknown): value is Flushable {
  return typeof value === 'object' && value !== null && typeof (value as Flushable).forceFlush === 'function';
}

/**
 * Exports the spans still buffered, before the process exits. The telemetry bootstrap
 * (observability/) owns the SDK; this needs only the API: the global tracer provider is a proxy
 * whose delegate, when the SDK is loaded, can flush. Without the SDK there is nothing to do.
 */
export async function flushTelemetry(timeoutMs = 3000): Promise<void> {
  const provider: unknown = trace.getTracerProvider();
  const delegate = (provider as { getDelegate?: () => unknown }).getDelegate?.() ?? provider;
  if (!isFlushable(delegate)) return;
  await withTimeout(delegate.forceFlush(), timeoutMs, () => new Error(`spans not exported within ${timeoutMs} ms`));
}

/**
 * Where the telemetry bootstrap (observability/) says how full its span queue is, 0 to 1; it
 * says 0 while exports fail, since waiting would not help then. Without it, always 0.
 */
export const SPAN_QUEUE_FILL = Symbol.for('@event-pipeline/span-queue-fill');

function spanQueueFill(): number {
  const read = (globalThis as { [SPAN_QUEUE_FILL]?: () => number })[SPAN_QUEUE_FILL];
  return read ? read() : 0;
}

/**
 * Resolves once the span queue is under `below` full, or after `maxWaitMs`; undefined (nothing
 * to wait for) when it already is. A consumer working through a backlog makes spans faster than
 * one exporter exports them, and a full queue drops them: it waits here before each event instead.
 */
export function roomForSpans({ below = 0.5, maxWaitMs = 10_000, intervalMs = 10 } = {}): Promise<void> | undefined {
  if (spanQueueFill() < below) return undefined;
  const deadline = Date.now() + maxWaitMs;
  return new Promise<void>((resolve) => {
    const check = (): void => {
      if (spanQueueFill() < below || Date.now() >= deadline) resolve();
      else setTimeout(check, intervalMs);
    };
    setTimeout(check, intervalMs);
  });
}
