export { createTelemetry, identifyService, isOperationalRequest, type ServiceIdentity } from './telemetry';
