import { KafkaJSError, KafkaJSProtocolError, KafkaJSSASLAuthenticationError } from 'kafkajs';

/**
 * The one answer to "will trying again help?", for every retry in the project: the worker's
 * attempts, the start-up backoff, the publisher's sends. Errors say it with a `retriable`
 * flag (KafkaJS's, ours: every PipelineError says, a handler's); this walks what an error wraps
 * as well, its `cause` chain and the errors it aggregates (KafkaJS's topic-creation errors,
 * AggregateError).
 *
 * An error is not retriable when it, or anything it wraps, says so:
 * - an error of ours or of a handler with `retriable: false` (NonRetriableError, EnvelopeError);
 * - a KafkaJS protocol error (e.g. TOPIC_AUTHORIZATION_FAILED) that Kafka marks non-retriable:
 *   Kafka answered, and said no;
 * - a refused SASL login (wrong credentials, a mechanism the broker lacks).
 * KafkaJS's other errors with `retriable: false` say only that KafkaJS's own retries stopped
 * (KafkaJSNumberOfRetriesExceeded, KafkaJSNonRetriableError around its cause, a lock timeout):
 * what they wrap decides, and a bare one is retriable, since waiting may cure it. KafkaJS's
 * errors are known by their classes, the ones of the KafkaJS this project runs (a handler that
 * requires `kafkajs` gets the same).
 */
export function isRetriable(error: unknown): boolean {
  return !saysPermanent(error, new Set());
}

function saysPermanent(error: unknown, seen: Set<unknown>): boolean {
  if (typeof error !== 'object' || error === null || seen.has(error)) return false;
  seen.add(error);
  if (error instanceof KafkaJSError) {
    if (error instanceof KafkaJSSASLAuthenticationError) return true;
    if (error instanceof KafkaJSProtocolError && !error.retriable) return true;
  } else if ((error as { retriable?: unknown }).retriable === false) {
    return true;
  }
  const { cause, errors } = error as { cause?: unknown; errors?: unknown };
  if (saysPermanent(cause, seen)) return true;
  return Array.isArray(errors) && errors.some((inner) => saysPermanent(inner, seen));
}
