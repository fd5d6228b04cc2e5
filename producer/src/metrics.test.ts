import { classicText, createMetricsRegistry } from '@event-pipeline/common';
import { createProducerMetrics, INGEST_OUTCOMES } from './metrics';

describe("the producer's metrics", () => {
  it('starts every counter at 0, reads the events in flight at scrape time, and describes every metric', async () => {
    const registry = createMetricsRegistry();
    const metrics = createProducerMetrics(registry);
    let inFlight = 0;
    metrics.observeInFlight(() => inFlight);
    const lines = (await classicText(registry)).split('\n');

    for (const outcome of INGEST_OUTCOMES) expect(lines).toContain(`events_ingested_total{outcome="${outcome}"} 0`);
    for (const series of [
      'events_produce_errors_total 0',
      'events_produce_unacknowledged_total 0',
      'events_producer_kafka_ready 0',
      'events_in_flight 0',
      'events_produce_duration_seconds_count 0',
      'events_produce_batch_events_count 0',
      'events_produce_batch_bytes_count 0',
      // The error ratio's numerator, there before the first 503 (rate() needs a sample before it).
      'http_server_request_duration_seconds_count{method="POST",route="/events",status_code="503"} 0',
    ]) {
      expect(lines).toContain(series);
    }
    inFlight = 12;
    expect((await classicText(registry)).split('\n')).toContain('events_in_flight 12');
    for (const metric of registry.getMetricsAsArray().filter((each) => /^(events|http)_/.test(each.name))) {
      expect(metric.help.length).toBeGreaterThan(20);
    }
  });

  it('names the topic it writes to in one info series at 1, labelled `topic` as kafka-exporter labels it', async () => {
    const registry = createMetricsRegistry();
    const metrics = createProducerMetrics(registry);
    expect(await classicText(registry)).not.toMatch(/^events_producer_info\{/m);

    metrics.setInfo({ topic: 'first' });
    metrics.setInfo({ topic: 'renamed-events' });

    const info = (await classicText(registry)).split('\n').filter((line) => line.startsWith('events_producer_info{'));
    expect(info).toEqual(['events_producer_info{topic="renamed-events"} 1']);
  });
});
