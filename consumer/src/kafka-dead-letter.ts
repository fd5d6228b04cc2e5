import { context, propagation } from '@opentelemetry/api';
import type { Kafka, IHeaders } from 'kafkajs';
import { createReliableProducer, errorMessage, errorName, type Logger } from '@event-pipeline/common';
import { DEAD_LETTER_HEADERS } from './dead-letter-headers';
import type { DeadLetterReason, DeadLetterSink, InboundMessage } from './source';

const MAX_ERROR_MESSAGE_LENGTH = 2000;

export interface KafkaDeadLetterSink extends DeadLetterSink {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

/**
 * Writes failed events to the dead-letter topic: same key, value and headers (the trace
 * context among them), plus headers that say why. Through the reliable producer (acks=all,
 * every partition's answer checked, a new producer id after a failed write), so the worker
 * commits the original only once the copy is known to be written; a failed write comes again.
 */
export function createKafkaDeadLetterSink({
  kafka,
  topic,
  groupId,
  logger,
}: {
  kafka: Kafka;
  topic: string;
  groupId: string;
  logger?: Logger;
}): KafkaDeadLetterSink {
  const log = logger?.child({ component: 'dead-letter', topic });
  const producer = createReliableProducer({
    kafka,
    topic,
    onUnanswered: ({ partitions, send }) =>
      log?.warn({ partitions, send }, 'dead letter unacknowledged, sending again'),
    onRenewed: () => log?.info('new idempotent producer id after a failed dead-letter write'),
  });
  return {
    topic,
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    async publish(message: InboundMessage, { error, attempts, failedAt }: DeadLetterReason) {
      const headers: IHeaders = {
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
      };
      // The write's span (the caller's active one) replaces the original's trace context.
      propagation.inject(context.active(), headers);
      const record = { key: message.key, value: message.value, headers };
      // Dead letters are rare: asking for the partitions each time follows any added since.
      await producer.refreshPartitions();
      await producer.send([{ ...record, partition: producer.partitionOf(record) }]);
    },
  };
}
