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

let jars: Promise<string> | undefined;

/** The directory holding every jar of Kafka, its tools and the logging binding; fetched once. */
export async function ensureKafkaJars(): Promise<string> {
  jars ??= fetchJars().catch((error: unknown) => {
    jars = undefined;
    throw error;
  });
  return jars;
}

async function fetchJars(): Promise<string> {
  const versionDir = path.join(KAFKA_CACHE_DIR, KAFKA_VERSION);
  const libs = path.join(versionDir, 'libs');
  // The stamp ties the jars to the pom's content, so a changed pom (e.g. another binding) refetches.
  const stampName = '.pom-sha256';
  const stamp = createHash('sha256').update(pomText).digest('hex');
  const complete = async (): Promise<boolean> =>
    (await readFile(path.join(libs, stampName), 'utf8').catch(() => '')) === stamp;

  if (await complete()) return libs;
  await mkdir(versionDir, { recursive: true });
  return withLockFile(path.join(versionDir, 'libs.lock'), async () => {
    if (await complete()) return libs;
    await checkJava();
    const partial = `${libs}.partial-${process.pid}`;
    await rm(partial, { recursive: true, force: true });
    log(`fetching the Apache Kafka ${KAFKA_VERSION} jars with Maven into ${relative(libs)} (once)`);
    const started = Date.now();
    try {
      await runCommand('mvn', ['-B', '-q', '-f', POM, 'dependency:copy-dependencies', `-DoutputDirectory=${partial}`]);
    } catch (error) {
      await rm(partial, { recursive: true, force: true });
      if (errorCode(error) === 'ENOENT') {
        throw new Error('fetching the Kafka jars needs Maven (mvn) on PATH, once (Debian: apt-get install maven)', {
          cause: error,
        });
      }
      throw error;
    }
    await writeFile(path.join(partial, stampName), stamp);
    await rm(libs, { recursive: true, force: true });
    await rename(partial, libs);
    log(`jars ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return libs;
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
