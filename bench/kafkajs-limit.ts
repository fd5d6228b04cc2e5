// The client's own limit: a bare KafkaJS consumer that counts the records of a topic through
// `eachBatch` and resolves their offsets, nothing else. No decoding, no handler, no metrics. It
// is the fastest any KafkaJS consumer can go here, so our consumer is measured against it.
// Run: node --import tsx bench/kafkajs-limit.ts <brokers> <topic> <group> <records> <partitionsConsumedConcurrently>
// Prints one JSON line: records, seconds and CPU milliseconds from the first record to the last.
import { performance } from 'node:perf_hooks';
import { Kafka, logLevel } from 'kafkajs';

async function main(): Promise<void> {
  const [brokers = 'localhost:9092', topic = 'events', group = 'kafkajs-limit', records = '0', concurrently = '3'] =
    process.argv.slice(2);
  const expected = Number(records);
  const kafka = new Kafka({ clientId: 'kafkajs-limit', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: group, allowAutoTopicCreation: false });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let count = 0;
  let first: { at: number; cpu: NodeJS.CpuUsage } | undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  await consumer.run({
    partitionsConsumedConcurrently: Number(concurrently),
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset }) => {
      first ??= { at: performance.now(), cpu: process.cpuUsage() };
      for (const message of batch.messages) {
        count++;
        resolveOffset(message.offset);
      }
      if (count >= expected) resolveDone();
    },
  });
  await done;
  const cpu = process.cpuUsage(first!.cpu);
  const seconds = (performance.now() - first!.at) / 1000;
  process.stdout.write(`${JSON.stringify({ records: count, seconds, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
  await consumer.disconnect();
}

main().catch((error: unknown) => {
  process.stderr.write(`kafkajs-limit: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
