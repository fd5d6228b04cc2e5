import type { Kafka } from 'kafkajs';
import { createIdempotentProducer, errorMessage, errorName } from '@event-pipeline/common';
import type { DeadLetterReason, DeadLetterSink, InboundMessage } from './source';

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

const MAX_ERROR_MESSAGE_LENGTH = 2000;

export interface KafkaDeadLetterSink extends DeadLetterSink {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

/**
 * Writes failed events to the dead-letter topic: same key, value and headers (the trace
 * context among them), plus headers that say why. Idempotent with acks=all, so the worker
 * commits the original only after the copy is durable.
 */
export function createKafkaDeadLetterSink({
  kafka,
  topic,
  groupId,
}: {
  kafka: Kafka;
  topic: string;
  groupId: string;
}): KafkaDeadLetterSink {
  // Renewed after a failed write (see createIdempotentProducer): else a later dead letter could
  // be taken for a duplicate, acknowledged unwritten, and its original committed.
  const producer = createIdempotentProducer(kafka);
  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    async publish(message: InboundMessage, { error, attempts, failedAt }: DeadLetterReason) {
      const answers = await producer.send({
        topic,
        acks: -1,
        messages: [
          {
            key: message.key,
            value: message.value,
            headers: {
              ...message.headers,
              [DEAD_LETTER_HEADERS.errorMessage]: errorMessage(error).slice(0, MAX_ERROR_MESSAGE_LENGTH),
              [DEAD_LETTER_HEADERS.errorName]: errorName(error),
              [DEAD_LETTER_HEADERS.attempts]: String(attempts),
              [DEAD_LETTER_HEADERS.originalTopic]: message.topic,
              [DEAD_LETTER_HEADERS.originalPartition]: String(message.partition),
              [DEAD_LETTER_HEADERS.originalOffset]: message.offset,
              [DEAD_LETTER_HEADERS.originalTimestamp]: message.timestamp,
              [DEAD_LETTER_HEADERS.consumerGroup]: groupId,
              [DEAD_LETTER_HEADERS.failedAt]: failedAt.toISOString(),
            },
          },
        ],
      });
      // KafkaJS can resolve a send whose partition went unanswered (kafkajs#1303; the publisher's
      // sendAcknowledged covers its batches): then the copy is not known to be written, and the
      // original must not be committed. The worker takes this as a failed write: it comes again.
      if (!answers.some((answer) => answer.topicName === topic && answer.errorCode === 0)) {
        throw new Error(`kafka did not acknowledge the dead letter on ${topic}`);
      }
    },
  };
}
