import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { testBrokers } from './kafka';
import { waitFor } from './wait';

const ROOT = path.resolve(__dirname, '../..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly url: string;
  /** Everything the process wrote so far. */
  output(): string;
  /** Resolves with the exit code (or the signal that ended it). */
  readonly exited: Promise<number | NodeJS.Signals>;
}

export interface SpawnOptions {
  /** The test broker by default. */
  brokers?: string[];
  /** Where it listens on 127.0.0.1 (PORT, METRICS_PORT); a free port by default. */
  port?: number;
  /** With the telemetry bootstrap preloaded. */
  telemetry?: boolean;
}

/** The producer as a process on `topic`, ready; `env` adds to its settings or overrides them. */
export function spawnProducer(
  topic: string,
  env: Record<string, string> = {},
  options: SpawnOptions = {},
): Promise<ServiceProcess> {
  return spawnService('producer', { EVENTS_TOPIC: topic, ...env }, options);
}

/**
 * The consumer as a process on `topic` in `group` (dead letters to `dlq`, by default
 * `<topic>.dlq`), ready; `env` adds to its settings or overrides them.
 */
export function spawnConsumer(
  { topic, group, dlq = `${topic}.dlq` }: { topic: string; group: string; dlq?: string },
  env: Record<string, string> = {},
  options: SpawnOptions = {},
): Promise<ServiceProcess> {
  return spawnService('consumer', { EVENTS_TOPIC: topic, DLQ_TOPIC: dlq, CONSUMER_GROUP: group, ...env }, options);
}

/**
 * Runs a service as users do (`node <service>/dist/main.js`, configured by env) and waits until
 * it is ready. Needs the build (`npm run build`; `npm test` builds first).
 */
async function spawnService(
  service: 'producer' | 'consumer',
  env: Record<string, string>,
  { brokers = testBrokers(), port, telemetry = false }: SpawnOptions,
): Promise<ServiceProcess> {
  const entry = path.join(ROOT, service, 'dist', 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  const listen = port ?? (await freePort());
  // With telemetry, as `npm start` runs it: the bootstrap preloaded, configured by OTEL_* in env.
  const preload = telemetry ? ['--require', '@event-pipeline/observability/register'] : [];
  const child = spawn(process.execPath, [...preload, '--disable-warning=TimeoutNegativeWarning', entry], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      LOG_LEVEL: 'info',
      KAFKA_BROKERS: brokers.join(','),
      HOST: '127.0.0.1',
      [service === 'producer' ? 'PORT' : 'METRICS_PORT']: String(listen),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | NodeJS.Signals>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const url = `http://127.0.0.1:${listen}`;
  const readyPath = '/health/ready';
  const ready = waitFor(
    `${service} ready on ${url}${readyPath}`,
    async () => (await fetch(url + readyPath)).status === 200,
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  // An early exit fails at once rather than after the wait for readiness runs out.
  const exitedFirst = exited.then((code) => {
    throw new Error(`${service} exited with ${code} before it was ready`);
  });
  exitedFirst.catch(() => undefined);
  await Promise.race([ready, exitedFirst]).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n--- ${service} output ---\n${output}`);
  });
  return { child, port: listen, url, output: () => output, exited };
}

export interface PipelineOptions {
  topic: string;
  /** The test broker by default. */
  brokers?: string[];
  /** For both services (telemetry settings, ...). */
  env?: Record<string, string>;
  producerEnv?: Record<string, string>;
  consumerEnv?: Record<string, string>;
  /** Both with the telemetry bootstrap preloaded. */
  telemetry?: boolean;
}

/**
 * A producer and a consumer as processes on free ports, on `topic` (dead letters to
 * `<topic>.dlq`, a group of their own), both ready.
 */
export async function spawnPipeline({
  topic,
  brokers = testBrokers(),
  env = {},
  producerEnv = {},
  consumerEnv = {},
  telemetry = false,
}: PipelineOptions): Promise<{ producer: ServiceProcess; consumer: ServiceProcess }> {
  const [producer, consumer] = await Promise.allSettled([
    spawnProducer(topic, { ...env, ...producerEnv }, { brokers, telemetry }),
    spawnConsumer({ topic, group: `events-processor-${topic}` }, { ...env, ...consumerEnv }, { brokers, telemetry }),
  ]);
  if (producer.status === 'fulfilled' && consumer.status === 'fulfilled') {
    return { producer: producer.value, consumer: consumer.value };
  }
  // One failed: the other must not outlive the test.
  for (const started of [producer, consumer]) if (started.status === 'fulfilled') started.value.child.kill('SIGKILL');
  throw [producer, consumer].find((result) => result.status === 'rejected')!.reason;
}
