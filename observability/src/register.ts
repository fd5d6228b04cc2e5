/**
 * The telemetry bootstrap. Preloaded before the service's own code, never imported by it:
 *   node --require @event-pipeline/observability/register dist/main.js
 * OTEL_SDK_DISABLED=true turns it off. Each service flushes the spans still buffered as it
 * exits (flushTelemetry in @event-pipeline/common, which needs only the OpenTelemetry API).
 */
import { createTelemetry } from './telemetry';

// Span buffers larger than the SDK's defaults (2,048 spans, exported 512 at a time): under load
// a service makes thousands of spans a second, and a full buffer drops them, leaving traces with
// holes. Either variable set by hand wins.
process.env.OTEL_BSP_MAX_QUEUE_SIZE ??= '16384';
process.env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE ??= '2048';

createTelemetry()?.start();
