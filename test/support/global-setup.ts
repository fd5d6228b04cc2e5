import { startKafkaCluster } from '../../scripts/kafka/cluster';
import { ensureApicurio } from '../../scripts/registry/registry';
import { testPort } from './kafka';

/**
 * The end-to-end tests run against a real broker: the one named by KAFKA_BROKERS (for example
 * the compose Kafka), or else a local KRaft broker the repo's scripts start on port 20092 (or
 * `TEST_PORT_BASE`), apart from a development broker on 9092.
 */
export default async function globalSetup(): Promise<void> {
  // The schema-registry test's Apicurio, fetched once into .cache/apicurio while the broker starts.
  const registryFetched = ensureApicurio();
  registryFetched.catch(() => undefined);
  if (process.env.KAFKA_BROKERS) {
    await registryFetched;
    process.env.TEST_KAFKA_BROKERS = process.env.KAFKA_BROKERS;
    return;
  }
  const [cluster] = await Promise.all([
    startKafkaCluster({ name: 'test', brokerPort: testPort(), fresh: true }),
    registryFetched,
  ]);
  process.env.TEST_KAFKA_BROKERS = cluster.brokers.join(',');
  process.env.TEST_KAFKA_STARTED = cluster.name;
}
