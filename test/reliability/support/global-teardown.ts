import { attachKafkaCluster } from '../../../scripts/kafka/cluster';
import { composeResults, printTable } from './results';

export default async function globalTeardown(): Promise<void> {
  const results = await composeResults();
  // `npm run test:reliability` prints the table itself, after jest's summary.
  if (results.scenarios.length > 0 && process.env.RELIABILITY_PUBLISH !== 'true') {
    console.info(`\nreliability scenarios\n${printTable(results)}`);
  }
  const name = process.env.RELIABILITY_KAFKA_STARTED;
  if (!name || process.env.KEEP_TEST_KAFKA === 'true') return;
  const cluster = await attachKafkaCluster(name);
  await cluster?.destroy();
}
