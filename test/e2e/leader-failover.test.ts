import { startKafkaCluster, type KafkaCluster } from '../../scripts/kafka/cluster';
import { readTopic, testPort, uniqueName, withAdmin } from '../support/kafka';
import { startProducer } from '../support/pipeline';
import { waitFor } from '../support/wait';

jest.setTimeout(300_000);

// Guarantee 1 under a fault: a 202 means the event is in Kafka, even when the broker leading
// its partition dies mid-request. Three brokers, replication 3, min.insync.replicas 2.
describe("when a partition leader's broker is killed under load", () => {
  const topic = uniqueName('events');
  let cluster: KafkaCluster;
  let producer: Awaited<ReturnType<typeof startProducer>>;

  beforeAll(async () => {
    cluster = await startKafkaCluster({
      name: 'failover',
      nodes: 3,
      brokerPort: testPort(10_100),
      fresh: true,
      // Fence a dead broker in seconds rather than Kafka's default nine.
      extraProps: {
        'min.insync.replicas': '2',
        'broker.session.timeout.ms': '3000',
        'broker.heartbeat.interval.ms': '500',
      },
    });
    producer = await startProducer(
      { EVENTS_TOPIC: topic, TOPIC_PARTITIONS: '3', TOPIC_REPLICATION_FACTOR: '3', PRODUCE_TIMEOUT_MS: '20000' },
      cluster.brokers,
    );
  });

  afterAll(async () => {
    await producer?.stop();
    await cluster?.destroy();
  });

  it('loses no event that got a 202', async () => {
    const accepted: string[] = [];
    const statuses = new Map<number, number>();
    let running = true;
    const client = async (worker: number): Promise<void> => {
      for (let index = 0; running; index += 1) {
        const id = `w${worker}-${index}`;
        const response = await fetch(`${producer.url}/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id, type: 'load', subject: `k${index % 12}`, data: { worker, index } }),
        });
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status === 202) accepted.push(id);
        else if (response.status !== 503) throw new Error(`unexpected ${response.status}: ${await response.text()}`);
        await response.arrayBuffer().catch(() => undefined);
      }
    };
    const clients = Array.from({ length: 8 }, (_, worker) => client(worker));

    await waitFor('load before the fault', () => accepted.length >= 500, { timeoutMs: 60_000 });
    const leader = await withAdmin(async (admin) => {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      return metadata.topics[0]!.partitions.find((partition) => partition.partitionId === 0)!.leader;
    }, cluster.brokers);
    const acceptedAtKill = accepted.length;
    await cluster.stopNode(leader - 1, 'SIGKILL');
    await waitFor('load to go on without the dead broker', () => accepted.length >= acceptedAtKill + 1000, {
      timeoutMs: 90_000,
    });
    await cluster.startNode(leader - 1);
    const acceptedAtRestart = accepted.length;
    await waitFor('load after the restart', () => accepted.length >= acceptedAtRestart + 300, { timeoutMs: 60_000 });
    running = false;
    await Promise.all(clients);

    const onTopic = new Set((await readTopic(topic, cluster.brokers)).map((record) => record.headers.ce_id));
    const lost = accepted.filter((id) => !onTopic.has(id));
    console.info(
      `leader failover: ${accepted.length} accepted, statuses ${JSON.stringify(Object.fromEntries(statuses))}, ` +
        `${onTopic.size} distinct on the topic, ${lost.length} lost`,
    );
    expect(lost).toEqual([]);
  });
});
