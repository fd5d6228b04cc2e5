export {
  createTelemetry,
  identifyService,
  instrumentationsFor,
  isOperationalRequest,
  type ServiceIdentity,
} from './telemetry';
export {
  createTraceExportStatus,
  describeError,
  otlpProtocolOf,
  reportingExporter,
  traceEndpoint,
  TRACING_OFF_HINT,
  type OtlpProtocol,
  type StatusLine,
  type TraceExportStatus,
} from './trace-export-status';
