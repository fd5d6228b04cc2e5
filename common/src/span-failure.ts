import { SpanStatusCode, type Span } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { errorMessage, errorName } from './errors';

/**
 * Marks `span` failed as OpenTelemetry's conventions have it: `error.type` and an ERROR status,
 * with `message` when there is one. For a type a convention names: a send's `timeout`, an HTTP
 * answer's status code (whose status then has no message).
 */
export function recordFailureAs(span: Span, type: string, message?: string): void {
  span.setAttribute(ATTR_ERROR_TYPE, type);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/** Marks `span` failed by what was thrown: its class name as `error.type`, its message as the status's. */
export function recordFailure(span: Span, error: unknown): void {
  recordFailureAs(span, errorName(error), errorMessage(error));
}
