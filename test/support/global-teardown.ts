import { attachKafkaCluster } from '../../scripts/kafka/cluster';

export default async function globalTeardown(): Promise<void> {
  const name = process.env.TEST_KAFKA_STARTED;
  if (!name || process.env.KEEP_TEST_KAFKA === 'true') return;
  const cluster = await attachKafkaCluster(name);
  await cluster?.destroy();
}
