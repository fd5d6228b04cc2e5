import { createLogger, type Logger } from '@event-pipeline/common';
import { loadConsumerConfig } from '../../consumer/src/config';
import type { EventHandler } from '../../consumer/src/handler';
import { startConsumerService, type ConsumerService } from '../../consumer/src/service';
import { loadProducerConfig } from '../../producer/src/config';
import { startProducerService, type ProducerService } from '../../producer/src/service';
import { testBrokers } from './kafka';

export function testLogger(service: string): Logger {
  return createLogger({ service, level: (process.env.TEST_LOG_LEVEL as 'info' | undefined) ?? 'silent' });
}

/** The real producer service (HTTP on an ephemeral port, real Kafka), as main.ts composes it. */
export async function startProducer(
  env: Record<string, string>,
  brokers = testBrokers(),
): Promise<ProducerService & { url: string }> {
  const config = loadProducerConfig({
    KAFKA_BROKERS: brokers.join(','),
    HOST: '127.0.0.1',
    PORT: '0',
    READINESS_INTERVAL_MS: '500',
    TOPIC_PARTITIONS: '3',
    ...env,
  });
  const service = await startProducerService(config, { logger: testLogger('producer') });
  await service.started;
  return Object.assign(service, { url: `http://127.0.0.1:${service.port}` });
}

/** The real consumer service with a test handler in place of the default one. */
export async function startConsumer(
  env: Record<string, string>,
  handler: EventHandler,
  brokers = testBrokers(),
): Promise<ConsumerService & { url: string }> {
  const config = loadConsumerConfig({
    KAFKA_BROKERS: brokers.join(','),
    HOST: '127.0.0.1',
    METRICS_PORT: '0',
    TOPIC_PARTITIONS: '3',
    HEARTBEAT_INTERVAL_MS: '500',
    SESSION_TIMEOUT_MS: '10000',
    ...env,
  });
  const service = await startConsumerService(config, { logger: testLogger('consumer'), handler });
  await service.started;
  return Object.assign(service, { url: `http://127.0.0.1:${service.port}` });
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** A metric's value from a Prometheus text exposition, e.g. `events_processed_total{outcome="success"}`. */
export function metricValue(exposition: string, series: string): number | undefined {
  for (const line of exposition.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return undefined;
}
