export {
  createTelemetry,
  identifyService,
  instrumentationsFor,
  isOperationalRequest,
  type ServiceIdentity,
} from './telemetry';
