import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { connectWithRetry, errorMessage, KAFKA_RETRIES, roomForSpans, type Logger } from '@event-pipeline/common';
import { ConsumerLag } from './consumer-lag';
import { keepHeartbeating } from './heartbeat-keeper';
import { runKeyOrderedBatch } from './key-ordered-batch';
import type { ConsumerMetrics } from './metrics';
import type { InboundMessage, MessageControl, MessageSource } from './source';

export interface KafkaSourceOptions {
  kafka: Kafka;
  groupId: string;
  topic: string;
  fromBeginning: boolean;
  partitionsConsumedConcurrently: number;
  /** Events of one partition handled at once (never two of one key). */
  handlerConcurrency: number;
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
 * The consumer group, through KafkaJS's `eachBatch`: a partition's batch is handled with up to
 * `handlerConcurrency` events at once, never two of one key, and offsets are resolved in order
 * as the finished prefix grows (auto-resolve is off), so the committed offset never passes an
 * unfinished event. KafkaJS commits the resolved offsets after each batch, after a failed one,
 * and when stopping; what was not resolved is fetched again.
 */
export function createKafkaSource(options: KafkaSourceOptions): MessageSource {
  const { kafka, topic, groupId, logger, metrics } = options;
  const log = logger.child({ component: 'consumer', topic, group: groupId });
  const consumer: Consumer = kafka.consumer({
    groupId,
    sessionTimeout: options.sessionTimeoutMs,
    heartbeatInterval: options.heartbeatIntervalMs,
    allowAutoTopicCreation: false,
    retry: KAFKA_RETRIES.groupConsumer,
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
      const inboundOf = (batchTopic: string, partition: number, message: KafkaMessage): InboundMessage => ({
        topic: batchTopic,
        partition,
        offset: message.offset,
        key: message.key,
        value: message.value,
        headers: message.headers ?? {},
        timestamp: message.timestamp,
      });
      const eachBatch = async ({
        batch,
        resolveOffset,
        heartbeat,
        commitOffsetsIfNecessary,
        isRunning,
        isStale,
      }: EachBatchPayload): Promise<void> => {
        const { topic: batchTopic, partition } = batch;
        // One keeper per batch, not per event: the group hears from us while slow events run,
        // and what is finished in order is committed as it goes (KafkaJS commits a batch only at
        // its end, and a batch may hold thousands of events), so a crash redoes little.
        const membership = keepHeartbeating(async () => {
          await heartbeat();
          await commitOffsetsIfNecessary().catch((error: unknown) =>
            // Not a lost membership: the commit at the batch's end tries again, and fails loudly.
            log.debug({ err: errorMessage(error) }, 'commit during a batch failed'),
          );
        }, options.heartbeatIntervalMs);
        const control: MessageControl = { membership };
        const deliver = (message: KafkaMessage): void | Promise<void> => {
          inFlight += 1;
          let pending: void | Promise<void>;
          try {
            pending = onMessage(inboundOf(batchTopic, partition, message), control);
          } catch (error) {
            inFlight -= 1;
            throw error;
          }
          if (!pending) {
            inFlight -= 1;
            return;
          }
          return pending.finally(() => {
            inFlight -= 1;
          });
        };
        try {
          await runKeyOrderedBatch(batch.messages, {
            concurrency: options.handlerConcurrency,
            keyOf: orderingKeyOf,
            mayStart: () => isRunning() && !isStale(),
            // Synchronous when the event is (no span room to wait for, a handler that returns).
            process(message) {
              const room = roomForSpans();
              if (room) return room.then(() => deliver(message));
              return deliver(message);
            },
            oldestStarted: (message) => lag.messageStarted(batchTopic, partition, message.offset, message.timestamp),
            finishedUpTo(message) {
              resolveOffset(message.offset);
              lag.messageFinished(batchTopic, partition, message.offset, message.timestamp);
            },
          });
        } finally {
          membership.stop();
        }
      };
      await consumer.run({
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently,
        // Resolved by us as events finish: KafkaJS would resolve a whole batch, unfinished ones too.
        eachBatchAutoResolve: false,
        // What commitOffsetsIfNecessary commits by, during a batch (after one KafkaJS always does).
        autoCommitInterval: options.heartbeatIntervalMs,
        eachBatch,
      });
    },

    async stop() {
      // Waits for the batches in hand (which start nothing more once KafkaJS stops running),
      // commits the resolved offsets, leaves the group.
      await consumer.disconnect();
    },
  };
}

function headerBytes(value: Buffer | string | Array<Buffer | string> | undefined | null): string {
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined || first === null) return '';
  return typeof first === 'string' ? first : first.toString('latin1');
}

/**
 * What a record's order is kept by: its key (latin1: the bytes one to one, only to tell keys
 * apart). A record without a key has no order to keep, but the copies of one event (the same
 * caller, source and id: a client's retry, a redrive) run one after the other within a
 * partition, so the de-duplication window has the first one finished before the next starts.
 */
export function orderingKeyOf(message: KafkaMessage): string | null {
  if (message.key !== null && message.key !== undefined) return `k${message.key.toString('latin1')}`;
  const headers = message.headers ?? {};
  const id = headerBytes(headers.ce_id);
  if (id === '') return null;
  const caller = headerBytes(headers.ce_authid);
  const source = headerBytes(headers.ce_source);
  return `e${caller.length}:${caller}${source.length}:${source}${id}`;
}
