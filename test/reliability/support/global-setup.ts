import { rm } from 'node:fs/promises';
import { startKafkaCluster } from '../../../scripts/kafka/cluster';
import {
  RELIABILITY_BROKER_PROPS,
  RELIABILITY_CLUSTER,
  RELIABILITY_NODES,
  reliabilityBrokerPort,
  startRetryingPorts,
} from './cluster';
import { ROWS_DIR } from './results';
import { RELIABILITY_PROXIED } from './toxiproxy';

/** One real three-node KRaft cluster for every scenario of the reliability suite. */
export default async function globalSetup(): Promise<void> {
  await rm(ROWS_DIR, { recursive: true, force: true });
  const cluster = await startRetryingPorts(() =>
    startKafkaCluster({
      name: RELIABILITY_CLUSTER,
      nodes: RELIABILITY_NODES,
      brokerPort: reliabilityBrokerPort(),
      fresh: true,
      extraProps: RELIABILITY_BROKER_PROPS,
      // For the network-fault scenario: clients that bootstrap here go through Toxiproxy.
      proxied: { port: RELIABILITY_PROXIED.port(), advertisedPort: RELIABILITY_PROXIED.advertisedPort() },
    }),
  );
  process.env.RELIABILITY_KAFKA_BROKERS = cluster.brokers.join(',');
  process.env.RELIABILITY_KAFKA_STARTED = cluster.name;
}
