import { execFile } from 'node:child_process';
import path from 'node:path';
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
