/**
 * The telemetry bootstrap. Preloaded before the service's own code, never imported by it:
 *   node --require @event-pipeline/observability/register dist/main.js
 * OTEL_SDK_DISABLED=true turns it off. Each service flushes the spans still buffered as it
 * exits (flushTelemetry in @event-pipeline/common, which needs only the OpenTelemetry API).
 */
import { createTelemetry } from './telemetry';

const sdk = createTelemetry();
sdk.start();
