import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureDebianTools } from '../../../scripts/tools/debian';
import { ensureGoTool } from '../../../scripts/tools/go-tools';
import { waitFor } from '../../support/wait';
import { RELIABILITY_CACHE } from './cluster';

const ROOT = path.resolve(__dirname, '../../..');
const OBSERVABILITY = path.join(ROOT, 'observability');

/** Builds kafka-exporter and installs Prometheus if they are missing, before a scenario leases the cluster. */
export async function ensureMonitoringTools(): Promise<void> {
  await ensureGoTool('kafka-exporter');
  await ensureDebianTools('prometheus');
}

interface Program {
  readonly child: ChildProcess;
  output(): string;
  /** SIGTERM, then SIGKILL if it is still running after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

/** Runs a program and waits until `readyUrl` answers 200; an early exit fails at once, with its output. */
async function startProgram(
  name: string,
  command: string,
  args: string[],
  env: Record<string, string>,
  readyUrl: string,
): Promise<Program> {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const program: Program = {
    child,
    output: () => output,
    async stop(timeoutMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = new AbortController();
      const stopped = await Promise.race([
        exited.then(() => true),
        sleep(timeoutMs, false, { signal: timer.signal }).catch(() => true),
      ]);
      timer.abort();
      if (!stopped) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
  const exitedFirst = exited.then(() => {
    throw new Error(`${name} exited with ${child.exitCode ?? child.signalCode} before it was ready`);
  });
  exitedFirst.catch(() => undefined);
  const ready = waitFor(`${name} ready on ${readyUrl}`, async () => (await fetch(readyUrl)).status === 200, {
    timeoutMs: 60_000,
    intervalMs: 200,
  });
  await Promise.race([ready, exitedFirst]).catch(async (error: unknown) => {
    await program.stop(1000);
    throw new Error(`${(error as Error).message}\n--- ${name} output ---\n${output}`);
  });
  return program;
}

export interface Monitoring {
  /** Prometheus' base URL. */
  readonly prometheus: string;
  /** Points the scrape job `job` at these local ports (its target file, which Prometheus watches). */
  setTargets(job: string, ports: number[]): Promise<void>;
  /** The end of what kafka-exporter and Prometheus wrote, for a failure message. */
  output(): string;
  /** Stops both and removes Prometheus' directory. */
  stop(): Promise<void>;
}

/**
 * The monitoring of the pipeline, as the local stack runs it (scripts/stack/stack.ts): the
 * kafka-exporter build on the given brokers, and Prometheus with the repo's own config and rules
 * (observability/prometheus/prometheus.yml and rules/, symlinked, so the relabelling that renames
 * the exporter's metrics and every recording and alert rule are the real ones). Its target files
 * (targets/<job>.json) are ours: kafka-exporter's from the start, the rest through `setTargets`.
 */
export async function startMonitoring({
  brokers,
  exporterPort,
  prometheusPort,
}: {
  brokers: string[];
  exporterPort: number;
  prometheusPort: number;
}): Promise<Monitoring> {
  await mkdir(RELIABILITY_CACHE, { recursive: true });
  const home = await mkdtemp(path.join(RELIABILITY_CACHE, 'prometheus-'));
  const targets = path.join(home, 'targets');
  await mkdir(targets);
  for (const name of ['prometheus.yml', 'rules']) {
    await symlink(path.join(OBSERVABILITY, 'prometheus', name), path.join(home, name));
  }
  const setTargets = async (job: string, ports: number[]): Promise<void> => {
    const file = path.join(targets, `${job}.json`);
    // Written aside and renamed: Prometheus watches the file and must never read half of it.
    await writeFile(`${file}.tmp`, `${JSON.stringify([{ targets: ports.map((port) => `127.0.0.1:${port}`) }])}\n`);
    await rename(`${file}.tmp`, file);
  };
  await setTargets('kafka-exporter', [exporterPort]);

  const started: Program[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(started.map((program) => program.stop()));
    await rm(home, { recursive: true, force: true });
  };
  try {
    started.push(
      await startProgram(
        'kafka-exporter',
        await ensureGoTool('kafka-exporter'),
        ['--config', path.join(OBSERVABILITY, 'kafka-exporter', 'config.yaml')],
        { KAFKA_BROKERS: brokers.join(','), KAFKA_EXPORTER_ADDRESS: `127.0.0.1:${exporterPort}` },
        `http://127.0.0.1:${exporterPort}/metrics`,
      ),
    );
    const { prometheus: binary } = await ensureDebianTools('prometheus');
    started.push(
      await startProgram(
        'prometheus',
        binary,
        [
          `--config.file=${path.join(home, 'prometheus.yml')}`,
          `--storage.tsdb.path=${path.join(home, 'data')}`,
          `--web.listen-address=127.0.0.1:${prometheusPort}`,
        ],
        {},
        `http://127.0.0.1:${prometheusPort}/-/ready`,
      ),
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    prometheus: `http://127.0.0.1:${prometheusPort}`,
    setTargets,
    output: () => started.map((program) => program.output().slice(-4000)).join('\n'),
    stop,
  };
}
