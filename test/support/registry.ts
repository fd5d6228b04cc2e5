import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCommand } from '../../scripts/kafka/jars';
import {
  startRegistry,
  stopRegistry,
  type RegistryStorage,
  type RunningRegistry,
} from '../../scripts/registry/registry';
import { testPort, uniqueName } from './kafka';

const ROOT = path.resolve(__dirname, '../..');

/** A real Apicurio Registry of a test's own, at TEST_PORT_BASE + 11900 (its management port + 11901). */
export interface TestRegistry {
  url: string;
  /** Stops the process (its KafkaSQL storage keeps the schemas for a start again). */
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startTestRegistry(storage: RegistryStorage): Promise<TestRegistry> {
  const dir = path.join(ROOT, '.cache', 'test-registry', uniqueName('registry'));
  const options = { dir, port: testPort(11900), managementPort: testPort(11901), storage, timeoutMs: 150_000 };
  let running: RunningRegistry = await startRegistry(options);
  return {
    url: running.url,
    stop: () => stopRegistry(dir),
    async start() {
      running = await startRegistry(options);
    },
  };
}

/** Runs `npm run schemas:<command>` as users do; resolves with its exit code and output. */
export function runSchemasCli(
  command: 'push' | 'check',
  { dir, url }: { dir: string; url: string },
): Promise<{ code: number; stdout: string; stderr: string }> {
  const tsx = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [tsx, path.join(ROOT, 'producer', 'src', 'schemas-cli.ts'), command, '--dir', dir, '--url', url],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Confluent's Python client, the independent reader: pinned, installed once with pip into .cache/tools. */
export const PYTHON_READER = { package: 'confluent-kafka[avro,schemaregistry]', version: '2.16.1' };

async function ensurePythonReader(): Promise<string> {
  const target = path.join(ROOT, '.cache', 'tools', `python-confluent-kafka-${PYTHON_READER.version}`);
  if (!existsSync(path.join(target, '.complete'))) {
    await runCommand('python3', [
      ...['-m', 'pip', 'install', '--only-binary=:all:', '--target', target],
      ...['--disable-pip-version-check', '--no-input', '--quiet', '--root-user-action=ignore'],
      `${PYTHON_READER.package}==${PYTHON_READER.version}`,
    ]);
    await writeFile(path.join(target, '.complete'), '');
  }
  return target;
}

/**
 * Reads `count` Avro records of `topic` with Confluent's Python AvroDeserializer against the
 * registry at `url`: the decoded data by event id.
 */
export async function readWithPythonClient(
  { brokers, topic, url }: { brokers: string; topic: string; url: string },
  count: number,
): Promise<Map<string, unknown>> {
  const packages = await ensurePythonReader();
  const { stdout } = await runCommand(
    'python3',
    [path.join(__dirname, 'avro_reader.py'), brokers, topic, url, String(count), '60'],
    { PYTHONPATH: packages },
  );
  const decoded = new Map<string, unknown>();
  for (const line of stdout.trim().split('\n')) {
    const { id, data } = JSON.parse(line) as { id: string; data: unknown };
    decoded.set(id, data);
  }
  return decoded;
}
