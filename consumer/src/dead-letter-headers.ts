// The headers of the dead-letter topic: written by the consumer, read and redriven by `dlq`.

/** Headers a dead-lettered record gets beside its original ones. */
export const DEAD_LETTER_HEADERS = {
  errorMessage: 'dlq.error.message',
  errorName: 'dlq.error.name',
  attempts: 'dlq.attempts',
  originalTopic: 'dlq.original.topic',
  originalPartition: 'dlq.original.partition',
  originalOffset: 'dlq.original.offset',
  originalTimestamp: 'dlq.original.timestamp',
  consumerGroup: 'dlq.consumer.group',
  failedAt: 'dlq.failed.at',
} as const;

/** Every dead-letter header starts with it; a redrive drops them all before sending the event back. */
export const DEAD_LETTER_HEADER_PREFIX = 'dlq.';

/**
 * Headers a redriven record gets (`dlq redrive`): when, from which dead letter
 * (`<dlq topic>/<partition>/<offset>`), and the attempts the event had used up before.
 */
export const REDRIVE_HEADERS = {
  at: 'dlq.redriven.at',
  from: 'dlq.redriven.from',
  attempts: 'dlq.redriven.attempts',
} as const;
