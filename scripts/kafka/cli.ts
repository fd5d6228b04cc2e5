// npm run kafka:up / kafka:down (extra arguments after `--`), and `status`.
//   up [--name N] [--nodes 1|3] [--port 9092] [--fresh]   prints the bootstrap servers once ready
//   down [--name N] [--purge]                             stops it; --purge deletes its data too
//   status [--name N]
import { parseArgs } from 'node:util';
import { KAFKA_VERSION, attachKafkaCluster, listKafkaClusters, startKafkaCluster, type KafkaCluster } from './cluster';

const USAGE = `usage: cli.ts up [--name N] [--nodes 1|3] [--port 9092] [--fresh]
       cli.ts down [--name N] [--purge]
       cli.ts status [--name N]`;

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  switch (command) {
    case 'up':
      return up(args);
    case 'down':
      return down(args);
    case 'status':
      return status(args);
    default:
      throw new Error(USAGE);
  }
}

async function up(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      name: { type: 'string', default: 'default' },
      nodes: { type: 'string', default: '1' },
      port: { type: 'string', default: '9092' },
      fresh: { type: 'boolean', default: false },
    },
  });
  const started = Date.now();
  const cluster = await startKafkaCluster({
    name: values.name,
    nodes: positiveInteger('--nodes', values.nodes),
    brokerPort: positiveInteger('--port', values.port),
    fresh: values.fresh,
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const count = cluster.brokers.length;
  process.stderr.write(
    `kafka: '${cluster.name}' ready in ${seconds} s (Apache Kafka ${KAFKA_VERSION}, ${count} node${count > 1 ? 's' : ''}; ` +
      `logs in .cache/kafka/run/${cluster.name}/node-*/kafka.log)\n`,
  );
  process.stdout.write(`${cluster.brokers.join(',')}\n`);
}

async function down(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { name: { type: 'string', default: 'default' }, purge: { type: 'boolean', default: false } },
  });
  const cluster = await attachKafkaCluster(values.name);
  if (!cluster) {
    process.stderr.write(`kafka: no instance '${values.name}'\n`);
    return;
  }
  if (values.purge) await cluster.destroy();
  else await cluster.stop();
  process.stderr.write(`kafka: '${cluster.name}' ${values.purge ? 'stopped and deleted' : 'stopped (data kept)'}\n`);
}

async function status(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { name: { type: 'string' } } });
  const names = values.name ? [values.name] : await listKafkaClusters();
  if (names.length === 0) process.stdout.write('no Kafka instances\n');
  for (const name of names) {
    const cluster = await attachKafkaCluster(name);
    process.stdout.write(cluster ? describe(cluster) : `${name}: no such instance\n`);
  }
}

function describe(cluster: KafkaCluster): string {
  const nodes = cluster.brokers.map((broker, i) => {
    const pid = cluster.nodePid(i);
    return `  node ${i} ${broker} ${pid === undefined ? 'stopped' : `running (pid ${pid})`}`;
  });
  return `${cluster.name}:\n${nodes.join('\n')}\n`;
}

function positiveInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${flag} takes a positive integer, not '${text}'`);
  return value;
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`kafka: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
