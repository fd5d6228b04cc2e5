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
