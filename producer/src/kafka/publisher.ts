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
  type ReliableProducer,
} from '@event-pipeline/common';
import type { ProducerMetrics } from '../metrics';
import { SendCoalescer } from './coalescer';
import { PublishError, type EventPublisher } from './event-publisher';
import { createReadinessProbe, type ReadinessProbe } from './readiness';
import { recordSize } from './record-size';
import { endSendSpans, sendSpanContextOf, startSendSpans, untracedSend, type PartitionedRecord } from './send-spans';

const MAX_SENDS_PER_BATCH = 3;

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

/**
 * The one producer of the service, behind the guarantees of createReliableProducer (every
 * partition's acknowledgement checked, unanswered partitions sent again).
 */
function reliableProducerOf({ kafka, topic, compression, metrics }: KafkaPublisherOptions, log: Logger) {
  return createReliableProducer({
    kafka,
    topic,
    compression: compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
    maxSends: MAX_SENDS_PER_BATCH,
    onUnanswered: ({ partitions, messages, send }) => {
      metrics.produceUnacknowledged.inc(messages);
      log.warn({ partitions, events: messages, send }, 'partitions unacknowledged, sending again');
    },
    onRenewed: () => log.info('new idempotent producer id after a failed send'),
  });
}

/**
 * Partitions of records. A keyed record goes where Kafka's Java client would put it (murmur2).
 * Records without a key go to one partition per produce request (sticky, as Kafka's Java
 * producer and franz-go do): a batch then holds fewer, larger partition batches, and no hash is
 * computed for them. The choice moves on (round robin over the partitions with a leader) each
 * time a batch leaves, so that load spreads over the partitions request by request.
 */
function stickyPartitioner(producer: ReliableProducer): {
  partitionOf: (record: OutboundRecord) => number;
  batchLeft: () => void;
} {
  let sticky: number | undefined;
  return {
    partitionOf: (record) =>
      record.key === null
        ? (sticky ??= producer.partitionOf({ key: null, value: null }))
        : producer.partitionOf(record),
    batchLeft: () => (sticky = undefined),
  };
}

/** Coalesces the records of concurrent requests into produce requests, observing each batch. */
function coalescerOf(
  { batchMaxEvents, batchMaxBytes, lingerMs, metrics }: KafkaPublisherOptions,
  log: Logger,
  send: (records: PartitionedRecord[]) => Promise<void>,
): SendCoalescer<PartitionedRecord> {
  const coalescer = new SendCoalescer<PartitionedRecord>({
    maxItems: batchMaxEvents,
    maxBytes: batchMaxBytes,
    lingerMs,
    send,
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
  return coalescer;
}

/**
 * Refuses what Kafka should not be asked for: a record larger than a produce request, any record
 * while shutting down or not ready, more than the in-flight bounds. Answers the records' sizes.
 */
function admit(
  records: PartitionedRecord[],
  {
    options,
    coalescer,
    readiness,
    stopped,
  }: {
    options: KafkaPublisherOptions;
    coalescer: SendCoalescer<PartitionedRecord>;
    readiness: ReadinessProbe;
    stopped: boolean;
  },
): number[] {
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
  const { state } = readiness;
  if (!state.ready) {
    throw new PublishError({ failure: 'unavailable' }, `kafka is not available: ${state.reason ?? 'unknown'}`);
  }
  if (coalescer.pending + records.length > options.maxInFlightEvents) {
    throw new PublishError({ failure: 'overloaded' }, `more than ${options.maxInFlightEvents} events in flight`);
  }
  let bytes = 0;
  for (const size of sizes) bytes += size;
  if (coalescer.pendingBytes + bytes > options.maxInFlightBytes) {
    throw new PublishError(
      { failure: 'overloaded' },
      `more than ${options.maxInFlightBytes} bytes of events in flight`,
    );
  }
  return sizes;
}

/**
 * Waits for Kafka's acknowledgement of submitted records up to `produceTimeoutMs` (abandoning
 * them past it) and turns a failure into the PublishError the HTTP edge answers.
 */
async function acknowledged(done: Promise<void>, abandon: () => void, produceTimeoutMs: number): Promise<void> {
  try {
    await withTimeout(done, produceTimeoutMs, () => {
      abandon();
      return new PublishError({ failure: 'timeout' }, `kafka did not acknowledge within ${produceTimeoutMs} ms`);
    });
  } catch (error) {
    if (error instanceof PublishError) throw error;
    if (isRetriable(error)) {
      throw new PublishError({ failure: 'unavailable' }, `kafka did not take the events: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    throw new PublishError({ failure: 'failed' }, `kafka refused the events: ${errorMessage(error)}`, { cause: error });
  }
}

export function createKafkaPublisher(options: KafkaPublisherOptions): KafkaPublisher {
  const { kafka, topic, logger, metrics } = options;
  const log = logger.child({ component: 'publisher', topic });
  const producer = reliableProducerOf(options, log);
  const partitions = stickyPartitioner(producer);
  const coalescer = coalescerOf(options, log, (records) => {
    partitions.batchLeft();
    return untracedSend(() => producer.send(records));
  });
  const readiness = createReadinessProbe({
    producer,
    topic,
    log,
    metrics,
    produceTimeoutMs: options.produceTimeoutMs,
    intervalMs: options.readinessIntervalMs,
    inFlightAgeMs: () => coalescer.inFlightAgeMs(),
  });
  let stopped = false;

  return {
    get pending() {
      return coalescer.pending;
    },

    readiness: () => readiness.state,

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
      await readiness.probe();
      readiness.start();
    },

    async publish(records) {
      const partitioned = records.map((record) => ({ ...record, partition: partitions.partitionOf(record) }));
      // Started before anything can refuse the events, so that a refusal shows in the trace.
      const spans = startSendSpans(topic, partitioned);
      try {
        const sizes = admit(partitioned, { options, coalescer, readiness, stopped });
        const { done, abandon } = coalescer.submit(partitioned, sizes);
        await acknowledged(done, abandon, options.produceTimeoutMs);
        endSendSpans(spans);
      } catch (error) {
        const failure = error instanceof PublishError ? error.reason.failure : 'failed';
        endSendSpans(spans, { type: failure, message: errorMessage(error) });
        throw error;
      }
    },

    async stop(timeoutMs) {
      stopped = true;
      readiness.stop();
      const drained = await withTimeout(coalescer.idle(), timeoutMs, () => new Error('not drained')).then(
        () => true,
        () => false,
      );
      if (!drained) log.warn({ pending: coalescer.pending }, 'events still unacknowledged at shut-down');
      await producer.disconnect();
    },
  };
}
