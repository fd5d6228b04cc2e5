// The programs a bench run starts, each a child of the run (killed with it): the built producer
// and consumer as `npm start` runs them, the bare HTTP server, and Java tools. Output goes to
// .cache/bench/logs/<name>.log, so a failure can quote it and the run's terminal stays readable.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const REPO_ROOT = path.resolve(__dirname, '..');
export const BENCH_CACHE = path.join(REPO_ROOT, '.cache', 'bench');
const LOG_DIR = path.join(BENCH_CACHE, 'logs');

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly logFile: string;
  readonly exited: Promise<number | string>;
  /** SIGTERM (the services drain and exit), then SIGKILL past `timeoutMs`; then SIGKILL to whatever of its process group is left. */
  stop(timeoutMs?: number): Promise<number | string>;
  logTail(lines?: number): string;
}

const running = new Set<Child>();

/**
 * SIGKILL to the child's whole process group: a program that forks (uvicorn's workers) leaves
 * none of them behind. A group that is gone already is no error.
 */
function killGroup(process_: ChildProcess): void {
  if (process_.pid === undefined) return;
  try {
    process.kill(-process_.pid, 'SIGKILL');
  } catch {
    // nothing left of it
  }
}

/** Kills what is still running (a failed or interrupted run), each with all it started. */
export function killAll(): void {
  for (const child of running) killGroup(child.process);
}

export function startChild(
  name: string,
  command: string,
  args: string[],
  { env = {}, cwd = REPO_ROOT }: { env?: Record<string, string>; cwd?: string } = {},
): Child {
  mkdirSync(LOG_DIR, { recursive: true });
  const logFile = path.join(LOG_DIR, `${name}.log`);
  const fd = openSync(logFile, 'w');
  const process_ = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', fd, fd],
    // A process group of its own, killed whole (see killGroup).
    detached: true,
  });
  closeSync(fd);
  const exited = new Promise<number | string>((resolve) =>
    process_.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const child: Child = {
    name,
    process: process_,
    logFile,
    exited,
    async stop(timeoutMs = 20_000) {
      if (process_.exitCode === null && process_.signalCode === null) {
        process_.kill('SIGTERM');
        const timer = setTimeout(() => killGroup(process_), timeoutMs);
        await exited;
        clearTimeout(timer);
      }
      // What it started and left running: a Kafka-down bench's uvicorn worker, still waiting on
      // Kafka when its SIGKILLed primary went, stayed behind and used CPU in later runs.
      killGroup(process_);
      running.delete(child);
      return exited;
    },
    logTail(lines = 30) {
      try {
        return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '(no log)';
      }
    },
  };
  running.add(child);
  void exited.then(() => running.delete(child));
  return child;
}

/** Resolves once `url` answers 2xx; fails early if the child exits, or after `timeoutMs`. */
export async function waitReady(child: Child, url: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | string | undefined;
  void child.exited.then((code) => (exitCode = code));
  for (;;) {
    if (exitCode !== undefined) {
      throw new Error(`${child.name} exited (${exitCode}) before ${url} was ready:\n${child.logTail()}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await child.stop(2000);
      throw new Error(`${child.name} was not ready at ${url} within ${timeoutMs} ms:\n${child.logTail()}`);
    }
    await sleep(200);
  }
}

/**
 * CPU time (user + system) a process has used so far, in ms, from /proc; undefined where there
 * is no /proc. CPU per event is far less disturbed by other work on a shared machine than
 * throughput is.
 */
export function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/**
 * CPU time the whole machine has spent busy so far, in ms, from /proc/stat: user, system, irq,
 * softirq and steal. Niced work is left out: a build run at `nice -n 19` beside a bench gives
 * way to it, and would otherwise keep the machine from ever looking quiet.
 */
export function machineBusyMs(): number | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, , system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
    return ((user + system + irq + softirq + steal) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** A quarter-second window busier than this (in cores) is not quiet. */
const QUIET_CORES = 0.35;

/**
 * Waits until what ran before has finished: a traced system's span exports, the collector
 * ingesting them, the JVMs' collections, the last system's in-flight Kafka writes. Quiet is a
 * quarter second under a third of a core, or three in a row within 15% of each other (the idle
 * floor of everything running); at most `maxMs`. Returns how long it waited.
 */
export async function settle(maxMs = 15_000): Promise<number> {
  const started = Date.now();
  const windows: number[] = [];
  for (;;) {
    const before = machineBusyMs();
    await sleep(250);
    const after = machineBusyMs();
    if (before === undefined || after === undefined) return 0;
    const cores = (after - before) / 250;
    windows.push(cores);
    const last = windows.slice(-3);
    const steady = last.length === 3 && Math.max(...last) - Math.min(...last) <= 0.15 * Math.max(...last, 0.01);
    if (cores < QUIET_CORES || steady || Date.now() - started >= maxMs) return Date.now() - started;
  }
}

/** The process and all its descendants (uvicorn's workers, say), from /proc's children lists. */
export function processTree(pid: number): number[] {
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    try {
      for (const task of readdirSync(`/proc/${pids[i]}/task`)) {
        const children = readFileSync(`/proc/${pids[i]}/task/${task}/children`, 'utf8').trim();
        if (children) pids.push(...children.split(/\s+/).map(Number));
      }
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/**
 * CPU time of a process and its descendants, in ms: for a peer that runs in several processes
 * (uvicorn's workers). A descendant that exits within the measured run takes its time with it,
 * so the bench reads it over runs in which the process tree stays the same.
 */
export function treeCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  const times = processTree(pid).map((each) => cpuMs(each));
  if (times[0] === undefined) return undefined;
  return times.reduce<number>((sum, time) => sum + (time ?? 0), 0);
}

// USER_HZ: 100 on every Linux architecture Node runs on.
const CLOCK_TICKS = 100;

export interface ServiceOptions {
  env: Record<string, string>;
  telemetry: boolean;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeFlags?: string[];
}

/**
 * A built service as `npm start` runs it: the telemetry bootstrap always preloaded; "telemetry
 * off" is the SDK's own switch, OTEL_SDK_DISABLED=true, as an operator would turn it off.
 */
export function startService(service: 'producer' | 'consumer', name: string, options: ServiceOptions): Child {
  const entry = path.join(REPO_ROOT, service, 'dist', 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  return startChild(
    name,
    process.execPath,
    [
      ...(options.nodeFlags ?? []),
      '--require',
      '@event-pipeline/observability/register',
      '--disable-warning=TimeoutNegativeWarning',
      entry,
    ],
    {
      cwd: path.join(REPO_ROOT, service),
      env: { ...options.env, OTEL_SDK_DISABLED: options.telemetry ? 'false' : 'true' },
    },
  );
}
