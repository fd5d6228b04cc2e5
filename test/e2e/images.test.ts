import { ensureNodeImage, MACHINE_CA, podman } from '../../scripts/tools/node-image';
import { buildImage, imageSize, runContainer, runOnce, type Container, type Service } from '../support/images';
import { groupProgress, readTopic, testBrokers, testKafka, testPort, uniqueName } from '../support/kafka';
import { waitFor } from '../support/wait';

// Cold, the base image and both builds take minutes (docs/testing.md has the times).
const BUILD_TIMEOUT_MS = 30 * 60_000;
jest.setTimeout(180_000);

// SHUTDOWN_TIMEOUT_MS's default: the bound within which a service drains and exits.
const SHUTDOWN_BOUND_MS = 15_000;

const megabytes = (bytes: number): string => `${(bytes / 1e6).toFixed(0)} MB`;

// The images users run, as compose builds them, run with their own command against the test's
// broker, and held to what the chart asks of them: uid 1000, a read-only root filesystem.
describe('the images (Dockerfile, built and run with podman)', () => {
  const topic = uniqueName('events');
  const group = `events-processor-${topic}`;
  const ports: Record<Service, number> = { producer: testPort(11950), consumer: testPort(11951) };
  const readyUrl = (service: Service): string => `http://127.0.0.1:${ports[service]}/health/ready`;
  const kafkaEnv = {
    KAFKA_BROKERS: testBrokers().join(','),
    EVENTS_TOPIC: topic,
    // Telemetry on, as shipped, towards a port where nothing listens.
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${testPort(11952)}`,
  };
  const env: Record<Service, Record<string, string>> = {
    producer: { ...kafkaEnv, PORT: String(ports.producer), TOPIC_PARTITIONS: '3' },
    consumer: { ...kafkaEnv, METRICS_PORT: String(ports.consumer), CONSUMER_GROUP: group, DLQ_TOPIC: `${topic}.dlq` },
  };
  const images = {} as Record<Service, string>;
  const containers = {} as Record<Service, Container>;
  let baseImage: string;
  let baseSize: number;

  beforeAll(async () => {
    // Made by `npm run tools -- ensure` (npm test runs it first), or here.
    baseImage = await ensureNodeImage();
    baseSize = await imageSize(baseImage);
    // Containers an interrupted run left behind would hold the ports; the storage is this
    // checkout's own (.cache/images), so every container in it is one of ours.
    await podman('rm', '--all', '--force', '--time', '0');
    // One after the other: the second build reuses the first one's build stage.
    images.producer = await buildImage('producer');
    images.consumer = await buildImage('consumer');
  }, BUILD_TIMEOUT_MS);

  afterAll(async () => {
    for (const container of Object.values(containers)) await container.remove();
  });

  /** Ready on its health port; fails at once, with its output, when the container ends first. */
  async function startService(service: Service): Promise<Container> {
    const container = await runContainer(images[service], `${topic}-${service}`, env[service]);
    containers[service] = container;
    let ended = false;
    await waitFor(
      `the ${service} container ready on ${readyUrl(service)}`,
      async () => {
        if ((await container.status()) !== 'running') return (ended = true);
        return (await fetch(readyUrl(service))).status === 200;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    ).catch(async (error: unknown) => {
      throw new Error(`${(error as Error).message}\n--- ${service} ---\n${await container.logs()}`);
    });
    if (ended) throw new Error(`the ${service} container ended before it was ready\n${await container.logs()}`);
    return container;
  }

  it.each(['producer', 'consumer'] as const)(
    "builds the %s image in Docker format, with its health check, user and command, and without the build's CA",
    async (service) => {
      const { stdout } = await podman('image', 'inspect', images[service]);
      // podman's own view of the image: the health check at the top level, the rest in Config.
      const [image] = JSON.parse(stdout) as Array<{
        Size: number;
        Healthcheck?: { Test: string[] };
        Config: { User: string; Cmd: string[] };
      }>;
      expect(image!.Config.User).toBe('1000:1000');
      expect(image!.Healthcheck?.Test.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
      expect(image!.Config.Cmd).toContain('dist/main.js');
      // What the image adds to its base: production dependencies and compiled code only.
      expect(image!.Size - baseSize).toBeLessThan(150e6);
      // The machine's CA bundle was the build's (a bind mount), not the image's: it ships the base's.
      const [shipped, base] = await Promise.all(
        [images[service], baseImage].map((name) => runOnce(name, {}, ['sha256sum', MACHINE_CA])),
      );
      expect(shipped).toEqual({ code: 0, output: base!.output });
      console.log(
        `image ${images[service]}: ${megabytes(image!.Size)} (base ${megabytes(baseSize)} + ${megabytes(image!.Size - baseSize)})`,
      );
    },
  );

  describe.each(['producer', 'consumer'] as const)('the %s image', (service) => {
    let container: Container;
    beforeAll(async () => {
      container = await startService(service);
    }, 120_000);

    it('starts on a read-only root filesystem and becomes ready; its own health check passes', async () => {
      const { stdout } = await podman('inspect', '--format', '{{.HostConfig.ReadonlyRootfs}}', container.name);
      expect(stdout.trim()).toBe('true');
      // The node user's home would be writable; only the read-only root stops the write. /tmp is the
      // chart's emptyDir.
      await expect(podman('exec', container.name, 'touch', '/home/node/written')).rejects.toThrow(
        /Read-only file system/,
      );
      await expect(podman('exec', container.name, 'touch', '/tmp/written')).resolves.toBeDefined();
      // The image's HEALTHCHECK command, run once (podman's periodic checks need systemd).
      await expect(podman('healthcheck', 'run', container.name)).resolves.toBeDefined();
    });

    it('ships the patched KafkaJS (patches/kafkajs+2.2.4.patch), as npm ci gives the repository', async () => {
      const { stdout } = await podman(
        'exec',
        container.name,
        'grep',
        '-c',
        'event-pipeline:',
        '/app/node_modules/kafkajs/src/protocol/encoder.js',
      );
      expect(Number(stdout.trim())).toBeGreaterThan(0);
    });

    it('runs its process as uid and gid 1000', async () => {
      const { stdout } = await podman('exec', container.name, 'cat', '/proc/1/status');
      expect(stdout).toMatch(/^Uid:\s+1000\s+1000\s+1000\s+1000$/m);
      expect(stdout).toMatch(/^Gid:\s+1000\s+1000\s+1000\s+1000$/m);
    });
  });

  it('the producer answers 202 to POST /events, the event reaches Kafka and the consumer commits it', async () => {
    const id = uniqueName('image-event');
    const response = await fetch(`http://127.0.0.1:${ports.producer}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id, type: 'image.checked', subject: 'images', data: { via: 'podman' } }),
    });
    expect(response.status).toBe(202);
    const records = await readTopic(topic);
    expect(records.map((record) => record.headers.ce_id)).toContain(id);
    await waitFor(
      `group ${group} committed every record of ${topic}`,
      // Partitions without a record have nothing to commit.
      async () => (await groupProgress(group, topic)).every(({ committed, high }) => high === 0 || committed === high),
      { timeoutMs: 60_000 },
    );
  });

  it('`dlq list` runs in the consumer image and finds what the consumer dead-lettered', async () => {
    // Not an event at all: the consumer dead-letters it at once (unreadable).
    const producer = testKafka().producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'images', value: 'not an event' }] });
    await producer.disconnect();
    await waitFor(`a dead letter in ${topic}.dlq`, async () => (await readTopic(`${topic}.dlq`)).length === 1, {
      timeoutMs: 60_000,
    });

    const run = await runOnce(images.consumer, { ...env.consumer, OTEL_SDK_DISABLED: 'true' }, [
      'dlq',
      'list',
      '--json',
    ]);
    expect(run).toMatchObject({ code: 0 });
    expect(JSON.parse(run.output)).toMatchObject({ total: 1 });
  });

  it.each(['producer', 'consumer'] as const)(
    'the %s drains on SIGTERM and exits 0 within the shut-down bound',
    async (service) => {
      const container = containers[service];
      const signalled = Date.now();
      await podman('kill', '--signal', 'TERM', container.name);
      const code = await container.exitCode();
      const elapsed = Date.now() - signalled;
      const logs = await container.logs();
      expect({ code, elapsed: elapsed < SHUTDOWN_BOUND_MS }).toEqual({ code: 0, elapsed: true });
      expect(logs).toContain('"msg":"shut down"');
      console.log(`image ${images[service]}: exited 0 ${elapsed} ms after SIGTERM`);
    },
  );
});
