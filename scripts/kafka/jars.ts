// The Kafka jars and the Java that runs them: fetched once with Maven into the git-ignored .cache.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const KAFKA_CACHE_DIR = path.join(REPO_ROOT, '.cache', 'kafka');

const POM = path.join(__dirname, 'pom.xml');
const pomText = readFileSync(POM, 'utf8');

export const KAFKA_VERSION = pomProperty('kafka.version');

function pomProperty(name: string): string {
  const tag = name.replace(/\./g, '\\.');
  const value = new RegExp(`<${tag}>([^<]+)</${tag}>`).exec(pomText)?.[1]?.trim();
  if (!value) throw new Error(`${POM} has no <${name}> property`);
  return value;
}

export function log(message: string): void {
  process.stderr.write(`kafka: ${message}\n`);
}

export function relative(file: string): string {
  return path.relative(process.cwd(), file) || '.';
}

// Not `instanceof Error`: under jest, errors thrown by Node's own modules come from another realm.
export function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

export interface CommandOutput {
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; a failure carries the command's output in its message. */
export function runCommand(command: string, args: string[], env: Record<string, string> = {}): Promise<CommandOutput> {
  return new Promise((resolve, reject) => {
    const options = { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env } };
    execFile(command, args, options, (error, stdout, stderr) => {
      if (!error) {
        resolve({ stdout, stderr });
        return;
      }
      const how = error.signal ? `was killed by ${error.signal}` : `failed (${String(error.code)})`;
      const output = `${stdout}${stderr}`.trim().split('\n').slice(-40).join('\n');
      const failure = new Error(`${path.basename(command)} ${args.join(' ')} ${how}\n${output}`);
      reject(Object.assign(failure, { code: error.code }));
    });
  });
}

export function javaBinary(): string {
  const javaHome = process.env.JAVA_HOME;
  return javaHome ? path.join(javaHome, 'bin', 'java') : 'java';
}

let javaChecked: Promise<void> | undefined;

/** Kafka 4 needs Java 17 or newer; say so plainly instead of failing with a class-version error. */
export function checkJava(): Promise<void> {
  javaChecked ??= (async () => {
    let output: CommandOutput;
    try {
      output = await runCommand(javaBinary(), ['-version']);
    } catch (error) {
      javaChecked = undefined;
      if (errorCode(error) === 'ENOENT') {
        throw new Error(
          `Kafka needs Java 17 or newer and there is no ${javaBinary()} (set JAVA_HOME or put java on PATH)`,
          { cause: error },
        );
      }
      throw error;
    }
    const version = /version "([^"]+)"/.exec(output.stderr)?.[1] ?? '';
    const [first, second] = version.split('.').map(Number);
    const major = first === 1 ? second : first;
    if (major === undefined || Number.isNaN(major) || major < 17) {
      throw new Error(
        `Kafka ${KAFKA_VERSION} needs Java 17 or newer; ${javaBinary()} is ${version || 'of unknown version'}`,
      );
    }
  })();
  return javaChecked;
}

export interface MavenFetch {
  /** The pom whose dependencies are copied (`dependency:copy-dependencies`). */
  pom: string;
  /** The folder they land in: whole, or not at all (fetched beside it, then moved into place). */
  dir: string;
  /** For the log line: "the Apache Kafka 4.4.0 jars". */
  what: string;
  /** Where the log line goes (each caller has its own prefix). */
  log: (message: string) => void;
  /** Besides the pom's stamp, what a complete folder holds. */
  isComplete?: (dir: string) => boolean;
  /** Before Maven runs (a Java check, say). */
  before?: () => Promise<void>;
  /** Run on the fetched folder before it is moved into place (unpack an archive). */
  prepare?: (partial: string) => Promise<void>;
  /** What to tell when a command is missing (ENOENT). */
  missingCommand: string;
  /** More Maven options (`-U`: ask the repository again rather than trust a cached "not found"). */
  mavenArgs?: string[];
}

const fetches = new Map<string, Promise<string>>();

/**
 * A pom's dependencies, copied once with Maven into `dir` and reused after that: stamped with
 * the pom's hash (a changed pom fetches again), under a lock file (parallel jest workers and a
 * stack start may ask at once; one fetches, the others wait), asked once per process (a failure
 * is asked again).
 */
export function fetchWithMaven(fetch: MavenFetch): Promise<string> {
  let pending = fetches.get(fetch.dir);
  if (!pending) {
    pending = fetchOnce(fetch).catch((error: unknown) => {
      fetches.delete(fetch.dir);
      throw error;
    });
    fetches.set(fetch.dir, pending);
  }
  return pending;
}

async function fetchOnce(fetch: MavenFetch): Promise<string> {
  const { pom, dir, what, log: say, isComplete, before, prepare, missingCommand, mavenArgs = [] } = fetch;
  const stampName = '.pom-sha256';
  const stamp = createHash('sha256').update(readFileSync(pom)).digest('hex');
  const complete = async (): Promise<boolean> =>
    (await readFile(path.join(dir, stampName), 'utf8').catch(() => '')) === stamp && (isComplete?.(dir) ?? true);
  if (await complete()) return dir;
  await mkdir(path.dirname(dir), { recursive: true });
  return withLockFile(`${dir}.lock`, async () => {
    if (await complete()) return dir;
    await before?.();
    const partial = `${dir}.partial-${process.pid}`;
    await rm(partial, { recursive: true, force: true });
    await mkdir(partial, { recursive: true });
    say(`fetching ${what} with Maven into ${relative(dir)} (once)`);
    const started = Date.now();
    try {
      await runCommand('mvn', [
        ...['-B', '-q', ...mavenArgs, '-f', pom],
        ...['dependency:copy-dependencies', `-DoutputDirectory=${partial}`],
      ]);
      await prepare?.(partial);
    } catch (error) {
      await rm(partial, { recursive: true, force: true });
      if (errorCode(error) === 'ENOENT') throw new Error(missingCommand, { cause: error });
      throw error;
    }
    await writeFile(path.join(partial, stampName), stamp);
    await rm(dir, { recursive: true, force: true });
    await rename(partial, dir);
    say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return dir;
  });
}

/** The directory holding every jar of Kafka, its tools and the logging binding; fetched once. */
export function ensureKafkaJars(): Promise<string> {
  return fetchWithMaven({
    pom: POM,
    dir: path.join(KAFKA_CACHE_DIR, KAFKA_VERSION, 'libs'),
    what: `the Apache Kafka ${KAFKA_VERSION} jars`,
    log,
    before: checkJava,
    missingCommand: 'fetching the Kafka jars needs Maven (mvn) on PATH, once (Debian: apt-get install maven)',
  });
}

/** Serialises processes (e.g. parallel jest workers) on a lock file holding the owner's pid. */
export async function withLockFile<T>(lockFile: string, work: () => Promise<T>): Promise<T> {
  let waited = false;
  for (;;) {
    try {
      const handle = await open(lockFile, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
    }
    const owner = Number(await readFile(lockFile, 'utf8').catch(() => ''));
    if (owner > 0 && !processExists(owner)) {
      await rm(lockFile, { force: true });
      continue;
    }
    if (!waited) log(`waiting for process ${owner || '?'} that holds ${relative(lockFile)}`);
    waited = true;
    await sleep(500);
  }
  try {
    return await work();
  } finally {
    await rm(lockFile, { force: true });
  }
}

export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
}

/** Sends a signal to a process that may have exited in the meantime. */
export function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if (errorCode(error) !== 'ESRCH') throw error;
  }
}
