import { SpanStatusCode, type Span } from '@opentelemetry/api';
import { errorMessage, errorName } from '@event-pipeline/common';

/** Marks `span` failed with the error's class and message. */
export function recordFailure(span: Span, error: unknown): void {
  span.setAttribute('error.type', errorName(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
}
