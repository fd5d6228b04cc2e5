/**
 * The one answer to "will trying again help?", for every retry in the project: the worker's
 * attempts, the start-up backoff, the publisher's sends. Errors say it with a `retriable`
 * flag (KafkaJS's, ours, a handler's); this walks what an error wraps as well, its `cause`
 * chain and the errors it aggregates (KafkaJS's topic-creation errors, AggregateError).
 *
 * An error is not retriable when it, or anything it wraps, says so:
 * - an error of ours or of a handler with `retriable: false` (NonRetriableError, EnvelopeError);
 * - a KafkaJS protocol error (it has a `type`, e.g. TOPIC_AUTHORIZATION_FAILED) that Kafka
 *   marks non-retriable: Kafka answered, and said no;
 * - a refused SASL login (wrong credentials, a mechanism the broker lacks).
 * KafkaJS's other errors with `retriable: false` say only that KafkaJS's own retries stopped
 * (KafkaJSNumberOfRetriesExceeded, KafkaJSNonRetriableError around its cause, a lock timeout):
 * what they wrap decides, and a bare one is retriable, since waiting may cure it.
 */
export function isRetriable(error: unknown): boolean {
  return !saysPermanent(error, new Set());
}

function saysPermanent(error: unknown, seen: Set<unknown>): boolean {
  if (typeof error !== 'object' || error === null || seen.has(error)) return false;
  seen.add(error);
  const { name, type, retriable, cause, errors } = error as {
    name?: unknown;
    type?: unknown;
    retriable?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  if (name === 'KafkaJSSASLAuthenticationError') return true;
  if (retriable === false) {
    const fromKafkaJS = typeof name === 'string' && name.startsWith('KafkaJS');
    if (!fromKafkaJS || typeof type === 'string') return true;
  }
  if (saysPermanent(cause, seen)) return true;
  return Array.isArray(errors) && errors.some((inner) => saysPermanent(inner, seen));
}
