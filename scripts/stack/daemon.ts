// Long-running programs started detached, so they outlive the command that started them (the
// local stack, a test's Jaeger): <dir>/<name>.pid and <dir>/<name>.log, and a stop that waits.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorCode, signalProcess } from '../kafka/jars';

export interface DaemonSpec {
  /** Where its pid and log files go. */
  dir: string;
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
}

export interface Daemon {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
}

function files(dir: string, name: string): { pidFile: string; logFile: string } {
  return { pidFile: path.join(dir, `${name}.pid`), logFile: path.join(dir, `${name}.log`) };
}

/** Starts the program detached, its output appended to <name>.log; fails if it runs already. */
export async function startDaemon(spec: DaemonSpec): Promise<Daemon> {
  const { pidFile, logFile } = files(spec.dir, spec.name);
  const running = daemonPid(spec.dir, spec.name);
  if (running !== undefined) throw new Error(`${spec.name} runs already (pid ${running}); stop it first`);
  await mkdir(spec.dir, { recursive: true });
  const log = await open(logFile, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd ?? process.cwd(),
      env: { ...process.env, ...spec.env },
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.unref();
    const pid = child.pid!;
    // The command line identifies the process later, so a recycled pid is never signalled.
    await writeFile(pidFile, JSON.stringify({ pid, command: spec.command, args: spec.args }));
    return { name: spec.name, pid, logFile };
  } finally {
    await log.close();
  }
}

/** The pid of the daemon if it is running (and is still the program that was started). */
export function daemonPid(dir: string, name: string): number | undefined {
  const { pidFile } = files(dir, name);
  let recorded: { pid?: unknown; args?: unknown };
  try {
    recorded = JSON.parse(readFileSync(pidFile, 'utf8')) as typeof recorded;
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || error instanceof SyntaxError) return undefined;
    throw error;
  }
  const pid = recorded.pid;
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return undefined;
  return isRunning(pid, Array.isArray(recorded.args) ? recorded.args.map(String) : []) ? pid : undefined;
}

function isRunning(pid: number, args: string[]): boolean {
  let cmdline: string;
  let status: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return false;
  }
  if (/^State:\s+Z/m.test(status)) return false;
  const parts = cmdline.split('\0');
  return args.every((arg) => parts.includes(arg));
}

/**
 * Sends `signal` (SIGTERM: the program drains and exits) and waits up to `timeoutMs` for it to
 * exit, then kills it. Resolves with whether it exited by itself.
 */
export async function stopDaemon(
  dir: string,
  name: string,
  { signal = 'SIGTERM', timeoutMs = 20_000 }: { signal?: NodeJS.Signals; timeoutMs?: number } = {},
): Promise<boolean> {
  const pid = daemonPid(dir, name);
  let clean = true;
  if (pid !== undefined) {
    signalProcess(pid, signal);
    clean = await waitForExit(dir, name, timeoutMs);
    if (!clean) {
      signalProcess(pid, 'SIGKILL');
      await waitForExit(dir, name, 5000);
    }
  }
  await rm(files(dir, name).pidFile, { force: true });
  return clean;
}

async function waitForExit(dir: string, name: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (daemonPid(dir, name) !== undefined) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/** The last lines of a daemon's log, for an error message. */
export function logTail(daemon: Pick<Daemon, 'logFile'>, lines = 30): string {
  try {
    return readFileSync(daemon.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Resolves once `url` answers 2xx. Fails at once when the daemon exits, and after `timeoutMs`
 * (stopping it then); either failure carries the end of its log.
 */
export async function waitUntilAnswering(dir: string, daemon: Daemon, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (daemonPid(dir, daemon.name) === undefined) {
      throw new Error(`${daemon.name} exited while starting:\n${logTail(daemon)}`);
    }
    if (Date.now() > deadline) {
      await stopDaemon(dir, daemon.name, { timeoutMs: 10_000 });
      throw new Error(`${daemon.name} did not answer ${url} within ${timeoutMs} ms:\n${logTail(daemon)}`);
    }
    await sleep(250);
  }
}

/**
 * Fails when something listens on 127.0.0.1:`port` already (compose's stack, a system service):
 * the part about to start would not get the port, and its readiness check would be answered by
 * the other program.
 */
export async function assertPortFree(port: number, name: string): Promise<void> {
  const taken = await new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
  if (taken)
    throw new Error(
      `cannot start ${name}: another program listens on port ${port} (docker compose? a system service?)`,
    );
}
