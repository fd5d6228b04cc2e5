import { classicText, createMetricsRegistry } from '@event-pipeline/common';
import { createConsumerMetrics, errorLabel, MAX_ERROR_LABELS, type ConsumerState } from './metrics';

describe("the consumer's metrics", () => {
  it('starts every counter at 0 and describes every metric', async () => {
    const registry = createMetricsRegistry();
    createConsumerMetrics(registry);
    const exposition = await classicText(registry);

    for (const series of [
      'events_processed_total{outcome="success"} 0',
      'events_processed_total{outcome="retried"} 0',
      'events_processed_total{outcome="dead_lettered"} 0',
      'events_dead_letter_failures_total 0',
      'events_duplicates_total 0',
      'events_consumer_rebalances_total 0',
      'events_consumer_ready 0',
      'events_consumer_in_flight 0',
      'events_consumer_assigned_partitions 0',
    ]) {
      expect(exposition.split('\n')).toContain(series);
    }
    for (const metric of registry.getMetricsAsArray().filter((each) => each.name.startsWith('events_'))) {
      expect(metric.help.length).toBeGreaterThan(20);
    }
  });

  it('reads the per-partition lag at each scrape, and drops the series of partitions no longer assigned', async () => {
    const registry = createMetricsRegistry();
    let state: ConsumerState = {
      inFlight: 1,
      assignedPartitions: 2,
      partitions: [
        { topic: 'events', partition: 0, position: 7, lagMessages: 3, lagSeconds: 1.5 },
        { topic: 'events', partition: 1, position: 4, lagMessages: 0, lagSeconds: 0 },
      ],
    };
    createConsumerMetrics(registry).observeConsumer(() => state);

    const first = (await classicText(registry)).split('\n');
    expect(first).toEqual(
      expect.arrayContaining([
        'events_consumer_lag_seconds{topic="events",partition="0"} 1.5',
        'events_consumer_lag_seconds{topic="events",partition="1"} 0',
        'events_consumer_lag_messages{topic="events",partition="0"} 3',
        'events_consumer_position{topic="events",partition="0"} 7',
        'events_consumer_in_flight 1',
        'events_consumer_assigned_partitions 2',
      ]),
    );

    state = {
      inFlight: 0,
      assignedPartitions: 1,
      partitions: [{ topic: 'events', partition: 1, position: 4, lagMessages: 0, lagSeconds: undefined }],
    };
    const second = await classicText(registry);
    expect(second).not.toContain('partition="0"');
    // A lag nothing dates yet is left out rather than reported as 0.
    expect(second).not.toContain('events_consumer_lag_seconds{');
    expect(second).toContain('events_consumer_position{topic="events",partition="1"} 4');
  });

  it('names the group and topics it runs with in one info series at 1, labelled as kafka-exporter labels its own', async () => {
    const registry = createMetricsRegistry();
    const metrics = createConsumerMetrics(registry);
    expect(await classicText(registry)).not.toMatch(/^events_consumer_info\{/m);

    metrics.setInfo({
      consumerGroup: 'renamed-processor',
      topic: 'renamed-events',
      deadLetterTopic: 'renamed-events.dlq',
    });
    metrics.setInfo({ consumerGroup: 'audit-processor', topic: 'audit', deadLetterTopic: 'audit.dlq' });

    const info = (await classicText(registry)).split('\n').filter((line) => line.startsWith('events_consumer_info{'));
    // Set twice, it names the second: one process runs in one group.
    expect(info).toEqual([
      'events_consumer_info{consumergroup="audit-processor",topic="audit",dlq_topic="audit.dlq"} 1',
    ]);
  });

  it('counts dead letters by error name, with a bounded set of names', async () => {
    const registry = createMetricsRegistry();
    const metrics = createConsumerMetrics(registry);
    metrics.deadLettered('SchemaError');
    metrics.deadLettered('SchemaError');
    metrics.deadLettered('HandlerTimeoutError');
    metrics.deadLettered('not a name: user 42');
    const lines = (await classicText(registry)).split('\n');
    expect(lines).toContain('events_dead_lettered_total{error="SchemaError"} 2');
    expect(lines).toContain('events_dead_lettered_total{error="HandlerTimeoutError"} 1');
    expect(lines).toContain('events_dead_lettered_total{error="other"} 1');

    const seen = new Set<string>();
    const labels = Array.from({ length: MAX_ERROR_LABELS + 5 }, (_, index) => errorLabel(`E${index}`, seen));
    expect(new Set(labels).size).toBe(MAX_ERROR_LABELS + 1);
    expect(labels.at(-1)).toBe('other');
    expect(errorLabel('E0', seen)).toBe('E0');
  });
});
