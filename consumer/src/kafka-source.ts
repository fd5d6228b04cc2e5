import type { Consumer, Kafka } from 'kafkajs';
import { connectWithRetry, errorMessage, type Logger } from '@event-pipeline/common';
import { ConsumerLag } from './consumer-lag';
import type { ConsumerMetrics } from './metrics';
import type { InboundMessage, MessageControl, MessageSource } from './source';

export interface KafkaSourceOptions {
  kafka: Kafka;
  groupId: string;
  topic: string;
  fromBeginning: boolean;
  partitionsConsumedConcurrently: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  logger: Logger;
  metrics: ConsumerMetrics;
  /** Called when the client gave up for good (it restarts by itself on retriable failures). */
  onFatal: (error: unknown) => void;
  /** The clock the time lag is measured with (epoch ms). */
  now?: () => number;
}

/**
 * The consumer group, through KafkaJS. `eachMessage` gives at-least-once: KafkaJS resolves a
 * message's offset only after our callback resolves, and commits resolved offsets after each
 * batch and when stopping.
 */
export function createKafkaSource(options: KafkaSourceOptions): MessageSource {
  const { kafka, topic, groupId, logger, metrics } = options;
  const log = logger.child({ component: 'consumer', topic, group: groupId });
  const consumer: Consumer = kafka.consumer({
    groupId,
    sessionTimeout: options.sessionTimeoutMs,
    heartbeatInterval: options.heartbeatIntervalMs,
    allowAutoTopicCreation: false,
    retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000 },
  });
  let state: { ready: boolean; reason?: string } = { ready: false, reason: 'starting' };
  const setReady = (ready: boolean, reason?: string): void => {
    state = ready ? { ready } : { ready, reason: reason ?? 'unknown' };
    metrics.ready.set(ready ? 1 : 0);
  };

  // Lag and position per assigned partition, from the batches KafkaJS starts and the events we finish.
  const lag = new ConsumerLag(options.now);
  let inFlight = 0;
  metrics.observeConsumer(() => ({
    inFlight,
    assignedPartitions: lag.assignedPartitions,
    partitions: lag.snapshot(),
  }));
  consumer.on(consumer.events.START_BATCH_PROCESS, ({ payload }) => lag.batchStarted(payload));

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    metrics.rebalances.inc();
    lag.assign(payload.memberAssignment);
    setReady(true);
    log.info({ member_id: payload.memberId, assignment: payload.memberAssignment }, 'joined group');
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    setReady(false, `crashed: ${errorMessage(payload.error)}`);
    if (payload.restart) {
      log.warn({ err: errorMessage(payload.error) }, 'consumer crashed, restarting');
    } else {
      log.error({ err: errorMessage(payload.error) }, 'consumer crashed for good');
      options.onFatal(payload.error);
    }
  });
  consumer.on(consumer.events.STOP, () => {
    setReady(false, 'stopped');
    lag.clear();
  });
  consumer.on(consumer.events.DISCONNECT, () => setReady(false, 'disconnected'));

  return {
    readiness: () => state,

    async start(onMessage, signal) {
      await connectWithRetry(
        async () => {
          await consumer.connect();
          await consumer.subscribe({ topics: [topic], fromBeginning: options.fromBeginning });
        },
        { logger: log, what: 'kafka consumer', ...(signal ? { signal } : {}) },
      );
      await consumer.run({
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently,
        eachMessage: async ({ topic: messageTopic, partition, message, heartbeat }) => {
          const inbound: InboundMessage = {
            topic: messageTopic,
            partition,
            offset: message.offset,
            key: message.key,
            value: message.value,
            headers: message.headers ?? {},
            timestamp: message.timestamp,
          };
          const control: MessageControl = { heartbeat };
          lag.messageStarted(messageTopic, partition, message.offset, message.timestamp);
          inFlight += 1;
          try {
            await onMessage(inbound, control);
          } finally {
            inFlight -= 1;
          }
          // Not on failure: the event comes again, and dates the lag until it is done.
          lag.messageFinished(messageTopic, partition, message.offset, message.timestamp);
        },
      });
    },

    async stop() {
      // Finishes the message in hand, commits resolved offsets, leaves the group.
      await consumer.disconnect();
    },
  };
}
