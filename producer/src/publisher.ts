import { CompressionTypes, type Kafka } from 'kafkajs';
import {
  connectWithRetry,
  createReliableProducer,
  errorMessage,
  isRetriable,
  provisionTopics,
  traceExemplar,
  withTimeout,
  type Logger,
  type OutboundRecord,
} from '@event-pipeline/common';
import { SendCoalescer } from './coalescer';
import type { ProducerMetrics } from './metrics';
import { endSendSpans, sendSpanContextOf, startSendSpans, untracedSend, type PartitionedRecord } from './send-spans';

const MAX_SENDS_PER_BATCH = 3;

/**
 * Why a publish was refused; the HTTP edge turns each into its answer. `too-large`: record
 * `index` takes `size` bytes, more than one produce request carries (`limit`). `unavailable`:
 * Kafka cannot take events now and may soon (not ready, shutting down, a send that failed in a
 * way another attempt may cure); `failed`: Kafka refused the events for good (see isRetriable).
 */
export type PublishFailure =
  | { failure: 'too-large'; index: number; size: number; limit: number }
  | { failure: 'unavailable' | 'overloaded' | 'timeout' | 'failed' };

export class PublishError extends Error {
  override readonly name = 'PublishError';
  constructor(
    readonly reason: PublishFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface Readiness {
  ready: boolean;
  reason?: string;
}

/** What the HTTP side needs from Kafka; nothing else of the client leaks past this file. */
export interface EventPublisher {
  /**
   * Resolves once Kafka acknowledged every record (acks=all); rejects with PublishError. Writes
   * each event's trace context into its record's headers.
   */
  publish(records: OutboundRecord[]): Promise<void>;
  readiness(): Readiness;
}

export interface KafkaPublisherOptions {
  kafka: Kafka;
  topic: string;
  topicPartitions: number;
  topicReplicationFactor: number;
  logger: Logger;
  metrics: ProducerMetrics;
  batchMaxEvents: number;
  batchMaxBytes: number;
  lingerMs: number;
  compression: 'none' | 'gzip';
  produceTimeoutMs: number;
  maxInFlightEvents: number;
  maxInFlightBytes: number;
  readinessIntervalMs: number;
}

export interface KafkaPublisher extends EventPublisher {
  /** Connects (retrying with backoff until `signal` aborts), creates the topic if missing, starts probing. */
  start(signal?: AbortSignal): Promise<void>;
  /** Waits up to `timeoutMs` for queued events to be acknowledged, then disconnects. */
  stop(timeoutMs: number): Promise<void>;
  readonly pending: number;
}

/** Headers, key and value of a record, as sized on the wire (plus per-record overhead). */
export function recordSize(record: OutboundRecord): number {
  let size = 70 + Buffer.byteLength(record.key) + (record.value?.length ?? 0);
  for (const [name, value] of Object.entries(record.headers))
    size += Buffer.byteLength(name) + Buffer.byteLength(value) + 4;
  return size;
}

export function createKafkaPublisher(options: KafkaPublisherOptions): KafkaPublisher {
  const { kafka, topic, logger, metrics } = options;
  const log = logger.child({ component: 'publisher', topic });
  const producer = createReliableProducer({
    kafka,
    topic,
    compression: options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
    maxSends: MAX_SENDS_PER_BATCH,
    onUnanswered: ({ partitions, messages, send }) => {
      metrics.produceUnacknowledged.inc(messages);
      log.warn({ partitions, events: messages, send }, 'partitions unacknowledged, sending again');
    },
    onRenewed: () => log.info('new idempotent producer id after a failed send'),
  });

  let state: Readiness = { ready: false, reason: 'starting' };
  let probeTimer: NodeJS.Timeout | undefined;
  let stopped = false;

  const setReadiness = (next: Readiness): void => {
    if (next.ready !== state.ready) {
      if (next.ready) log.info('kafka ready');
      else log.warn({ reason: next.reason }, 'kafka not ready');
    }
    state = next;
    metrics.kafkaReady.set(next.ready ? 1 : 0);
  };

  const sendBatch = (records: PartitionedRecord[]): Promise<void> => untracedSend(() => producer.send(records));

  const coalescer = new SendCoalescer<PartitionedRecord>({
    maxItems: options.batchMaxEvents,
    maxBytes: options.batchMaxBytes,
    lingerMs: options.lingerMs,
    send: sendBatch,
    onBatch: ({ items, first, bytes, durationMs, error }) => {
      metrics.produceDuration.observe({
        value: durationMs / 1000,
        exemplarLabels: traceExemplar(sendSpanContextOf(first)),
      });
      metrics.produceBatchEvents.observe(items);
      metrics.produceBatchBytes.observe(bytes);
      if (error !== undefined) {
        metrics.produceErrors.inc();
        // A send that may pass on another attempt (Kafka away, a leader moving) is a warning;
        // one that Kafka refused for good needs someone to look.
        log[isRetriable(error) ? 'warn' : 'error']({ err: errorMessage(error), events: items }, 'produce failed');
      }
    },
  });
  metrics.observeInFlight(() => coalescer.pending);

  /**
   * Ready means: the topic's partitions all have a leader, and produce requests are being
   * acknowledged (a batch waiting longer than PRODUCE_TIMEOUT_MS means they are not: no
   * replicas in sync, a full disk, ...). Not ready answers 503 at once instead of making every
   * client wait out its timeout.
   */
  const probe = async (): Promise<void> => {
    if (stopped) return;
    const stuckMs = coalescer.inFlightAgeMs();
    if (stuckMs > options.produceTimeoutMs) {
      setReadiness({
        ready: false,
        reason: `a produce request has waited ${Math.round(stuckMs)} ms for its acknowledgement`,
      });
      return;
    }
    const timeoutMs = Math.max(1000, options.readinessIntervalMs);
    try {
      // Also what partitionOf chooses among.
      const partitions = await withTimeout(
        producer.refreshPartitions(),
        timeoutMs,
        () => new Error(`no metadata answer within ${timeoutMs} ms`),
      );
      const leaderless = partitions.filter((partition) => partition.leader < 0).length;
      if (partitions.length === 0) setReadiness({ ready: false, reason: `topic ${topic} has no partitions` });
      else if (leaderless > 0)
        setReadiness({ ready: false, reason: `${leaderless} partition(s) of ${topic} have no leader` });
      else setReadiness({ ready: true });
    } catch (error) {
      setReadiness({ ready: false, reason: errorMessage(error) });
    }
  };

  return {
    get pending() {
      return coalescer.pending;
    },

    readiness: () => state,

    async start(signal) {
      await provisionTopics(
        kafka,
        [{ topic, numPartitions: options.topicPartitions, replicationFactor: options.topicReplicationFactor }],
        { logger: log, signal },
      );
      await connectWithRetry(() => producer.connect(), {
        logger: log,
        what: 'kafka producer',
        ...(signal ? { signal } : {}),
      });
      await probe();
      probeTimer = setInterval(() => void probe(), options.readinessIntervalMs);
      probeTimer.unref();
    },

    async publish(records) {
      const partitioned = records.map((record) => ({ ...record, partition: producer.partitionOf(record) }));
      // Started before anything can refuse the events, so that a refusal shows in the trace.
      const spans = startSendSpans(topic, partitioned);
      try {
        await publishPartitioned(partitioned);
        endSendSpans(spans);
      } catch (error) {
        const failure = error instanceof PublishError ? error.reason.failure : 'failed';
        endSendSpans(spans, { type: failure, message: errorMessage(error) });
        throw error;
      }
    },

    async stop(timeoutMs) {
      stopped = true;
      clearInterval(probeTimer);
      const drained = await withTimeout(coalescer.idle(), timeoutMs, () => new Error('not drained')).then(
        () => true,
        () => false,
      );
      if (!drained) log.warn({ pending: coalescer.pending }, 'events still unacknowledged at shut-down');
      await producer.disconnect();
    },
  };

  async function publishPartitioned(records: PartitionedRecord[]): Promise<void> {
    // Sized once (trace headers included), for the per-event limit, the in-flight bound and the batches.
    const sizes = records.map(recordSize);
    const tooLarge = sizes.findIndex((size) => size > options.batchMaxBytes);
    if (tooLarge >= 0) {
      const size = sizes[tooLarge]!;
      throw new PublishError(
        { failure: 'too-large', index: tooLarge, size, limit: options.batchMaxBytes },
        `record ${tooLarge} takes ${size} bytes`,
      );
    }
    if (stopped) throw new PublishError({ failure: 'unavailable' }, 'the producer is shutting down');
    if (!state.ready) {
      throw new PublishError({ failure: 'unavailable' }, `kafka is not available: ${state.reason ?? 'unknown'}`);
    }
    if (coalescer.pending + records.length > options.maxInFlightEvents) {
      throw new PublishError({ failure: 'overloaded' }, `more than ${options.maxInFlightEvents} events in flight`);
    }
    const bytes = sizes.reduce((sum, size) => sum + size, 0);
    if (coalescer.pendingBytes + bytes > options.maxInFlightBytes) {
      throw new PublishError(
        { failure: 'overloaded' },
        `more than ${options.maxInFlightBytes} bytes of events in flight`,
      );
    }
    const { done, abandon } = coalescer.submit(records, sizes);
    try {
      await withTimeout(done, options.produceTimeoutMs, () => {
        abandon();
        return new PublishError(
          { failure: 'timeout' },
          `kafka did not acknowledge within ${options.produceTimeoutMs} ms`,
        );
      });
    } catch (error) {
      if (error instanceof PublishError) throw error;
      if (isRetriable(error)) {
        throw new PublishError({ failure: 'unavailable' }, `kafka did not take the events: ${errorMessage(error)}`, {
          cause: error,
        });
      }
      throw new PublishError({ failure: 'failed' }, `kafka refused the events: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }
}
