import { context, trace } from '@opentelemetry/api';
import type { Kafka } from 'kafkajs';
import { createLogger, createMetricsRegistry, type MetricsRegistry, type OutboundRecord } from '@event-pipeline/common';
import { startTestTracing, type TestTracing } from '../../../test/support/tracing';
import { createProducerMetrics } from '../metrics';
import { PublishError } from './event-publisher';
import { createKafkaPublisher } from './publisher';
import { recordSize } from './record-size';

const TOPIC = 'events';

/** A stand-in for KafkaJS whose sends answer every partition, or throw what `failSend` gives for a send. */
function fakeKafka({
  failSend = () => undefined,
  onSend = () => undefined,
}: {
  failSend?: (send: number) => Error | undefined;
  onSend?: (messages: Array<{ partition: number; key: unknown }>) => void;
} = {}) {
  let sends = 0;
  const kafka = {
    producer: () => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      send: async ({ messages }: { messages: Array<{ partition: number; key: unknown }> }) => {
        sends += 1;
        onSend(messages);
        const failure = failSend(sends);
        if (failure) throw failure;
        return [...new Set(messages.map((message) => message.partition))].map((partition) => ({
          topicName: TOPIC,
          partition,
          errorCode: 0,
        }));
      },
    }),
    admin: () => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      listTopics: async () => [TOPIC],
      fetchTopicMetadata: async () => ({
        topics: [{ name: TOPIC, partitions: [0, 1, 2].map((partitionId) => ({ partitionId, leader: 1 })) }],
      }),
    }),
  };
  return kafka as unknown as Kafka;
}

const record = (key: string | null): OutboundRecord => ({
  key,
  value: Buffer.from('{}'),
  headers: { ce_id: key ?? 'unkeyed' },
  timestamp: String(Date.now()),
});

function publisherOn(kafka: Kafka, registry: MetricsRegistry = createMetricsRegistry()) {
  return createKafkaPublisher({
    kafka,
    topic: TOPIC,
    topicPartitions: 3,
    topicReplicationFactor: 1,
    logger: createLogger({ service: 'test', level: 'silent' }),
    metrics: createProducerMetrics(registry),
    batchMaxEvents: 100,
    batchMaxBytes: 100_000,
    lingerMs: 0,
    compression: 'none',
    produceTimeoutMs: 5000,
    maxInFlightEvents: 1000,
    maxInFlightBytes: 1_000_000,
    readinessIntervalMs: 60_000,
  });
}

/** Kafka's answer to a request it will never take, as KafkaJS throws it. */
function refusedForGood(): Error {
  return Object.assign(new Error('Not authorized to access topics: [Topic authorization failed]'), {
    name: 'KafkaJSProtocolError',
    type: 'TOPIC_AUTHORIZATION_FAILED',
    retriable: false,
  });
}

describe('the Kafka publisher', () => {
  it.each([
    ['may pass on another attempt', () => new Error('Connection error: connect ECONNREFUSED'), 'unavailable'],
    ['Kafka refused for good', refusedForGood, 'failed'],
  ])('when a send fails in a way that %s, rejects as %s', async (_label, failure, expected) => {
    const publisher = publisherOn(fakeKafka({ failSend: (send) => (send === 1 ? failure() : undefined) }));
    await publisher.start();
    try {
      const error = await publisher.publish([record('a')]).catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(PublishError);
      expect((error as PublishError).reason).toEqual({ failure: expected });
      expect((error as PublishError).cause).toBeInstanceOf(Error);
      await expect(publisher.publish([record('b')])).resolves.toBeUndefined();
    } finally {
      await publisher.stop(1000);
    }
  });

  it('when a record is larger than a produce request carries, rejects as too-large naming it, and sends nothing', async () => {
    let sends = 0;
    const publisher = publisherOn(fakeKafka({ failSend: () => void (sends += 1) }));
    await publisher.start();
    try {
      const large = { ...record('b'), value: Buffer.alloc(200_000) };
      const error = await publisher.publish([record('a'), large]).catch((thrown: unknown) => thrown);
      expect((error as PublishError).reason).toEqual({
        failure: 'too-large',
        index: 1,
        size: recordSize(large),
        limit: 100_000,
      });
      expect(sends).toBe(0);
    } finally {
      await publisher.stop(1000);
    }
  });
});

describe('the Kafka publisher, records without a key', () => {
  it('when requests of unkeyed records arrive together, then their produce request puts them in one partition, and the next another', async () => {
    const sends: Array<Array<{ partition: number; key: unknown }>> = [];
    const publisher = publisherOn(fakeKafka({ onSend: (messages) => sends.push(messages) }));
    await publisher.start();
    try {
      // Three requests at once leave in one produce request (the coalescer's batch).
      await Promise.all([
        publisher.publish([record(null), record(null)]),
        publisher.publish([record(null), record('k')]),
        publisher.publish([record(null)]),
      ]);
      await publisher.publish([record(null), record(null)]);
      expect(sends).toHaveLength(2);
      const unkeyed = (messages: Array<{ partition: number; key: unknown }>) =>
        new Set(messages.filter((message) => message.key === null).map((message) => message.partition));
      expect(unkeyed(sends[0]!).size).toBe(1);
      expect(unkeyed(sends[1]!).size).toBe(1);
      expect([...unkeyed(sends[1]!)][0]).not.toBe([...unkeyed(sends[0]!)][0]);
    } finally {
      await publisher.stop(1000);
    }
  });
});

describe("the Kafka publisher's produce latency", () => {
  let tracing: TestTracing;
  beforeAll(() => (tracing = startTestTracing()));
  afterAll(() => tracing.stop());

  it('carries the trace of an event of the batch as exemplar', async () => {
    const registry = createMetricsRegistry();
    const publisher = publisherOn(fakeKafka(), registry);
    await publisher.start();
    try {
      const request = trace.getTracer('test').startSpan('POST /events');
      await context.with(trace.setSpan(context.active(), request), () => publisher.publish([record('a')]));
      request.end();

      const buckets = (await registry.metrics())
        .split('\n')
        .filter((line) => line.startsWith('events_produce_duration_seconds_bucket'));
      const exemplar = `# {trace_id="${request.spanContext().traceId}"}`;
      expect(buckets.filter((line) => line.includes(exemplar))).toHaveLength(1);
    } finally {
      await publisher.stop(1000);
    }
  });
});
