// The schema registry of the local stack and the tests: Apicurio Registry, fetched once with
// Maven (pom.xml beside this file) into the git-ignored .cache/apicurio and run on Java 21+
// (the Temurin 25 JDK when JAVA_HOME names an older Java). Storage: in memory (tests), or
// KafkaSQL on a local Kafka (the stack), which keeps the schemas in a topic across restarts.
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fetchWithMaven, runCommand } from '../kafka/jars';
import { startDaemon, stopDaemon, waitUntilAnswering, type Daemon } from '../stack/daemon';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const APICURIO_CACHE_DIR = path.join(REPO_ROOT, '.cache', 'apicurio');
const POM = path.join(__dirname, 'pom.xml');
const pomText = readFileSync(POM, 'utf8');
export const APICURIO_VERSION = /<apicurio\.version>([^<]+)<\/apicurio\.version>/.exec(pomText)?.[1]?.trim() ?? '';
if (!APICURIO_VERSION) throw new Error(`${POM} has no <apicurio.version> property`);

/** The JDK the registry runs on when JAVA_HOME is older than Java 21 (these machines carry it). */
export const REGISTRY_JAVA_HOME_DEFAULT = '/usr/lib/jvm/temurin-25-jdk-amd64';
/** The path of the Confluent-compatible API, the one every client here speaks. */
export const CCOMPAT_PATH = '/apis/ccompat/v7';

function log(message: string): void {
  process.stderr.write(`schema-registry: ${message}\n`);
}

async function javaMajor(javaHome: string | undefined): Promise<number | undefined> {
  const java = javaHome ? path.join(javaHome, 'bin', 'java') : 'java';
  try {
    const { stderr } = await runCommand(java, ['-version']);
    const version = /version "([^"]+)"/.exec(stderr)?.[1] ?? '';
    const [first, second] = version.split('.').map(Number);
    return first === 1 ? second : first;
  } catch {
    return undefined;
  }
}

/**
 * The JAVA_HOME the registry runs with, Java 21 or newer: REGISTRY_JAVA_HOME (.ci/run sets it to
 * the Temurin 25 JDK, leaving Kafka's JAVA_HOME alone), else JAVA_HOME if it is new enough, else
 * the Temurin 25 JDK these machines carry.
 */
export async function registryJavaHome(): Promise<string> {
  const candidates = [process.env.REGISTRY_JAVA_HOME, process.env.JAVA_HOME, REGISTRY_JAVA_HOME_DEFAULT].filter(
    (home): home is string => home !== undefined && home !== '',
  );
  for (const home of candidates) {
    if (((await javaMajor(home)) ?? 0) >= 21) return home;
  }
  throw new Error(
    `Apicurio Registry ${APICURIO_VERSION} needs Java 21 or newer: set REGISTRY_JAVA_HOME (or JAVA_HOME) to one ` +
      `(e.g. ${REGISTRY_JAVA_HOME_DEFAULT}); JAVA_HOME is ${process.env.JAVA_HOME ?? '(unset)'}`,
  );
}

/** The unpacked application (quarkus-run.jar and its lib/), fetched and unpacked once. */
export function ensureApicurio(): Promise<string> {
  return fetchWithMaven({
    pom: POM,
    dir: path.join(APICURIO_CACHE_DIR, APICURIO_VERSION, 'app'),
    what: `Apicurio Registry ${APICURIO_VERSION} (about 160 MB)`,
    log,
    isComplete: (dir) => existsSync(path.join(dir, 'quarkus-run.jar')),
    // The app is one tar.gz artifact: unpacked in place of itself.
    prepare: async (partial) => {
      const archive = path.join(partial, `apicurio-registry-app-${APICURIO_VERSION}-all.tar.gz`);
      await runCommand('tar', ['-xzf', archive, '-C', partial]);
      await rm(archive);
    },
    missingCommand: 'fetching Apicurio Registry needs Maven (mvn) and tar on PATH, once',
  });
}

export type RegistryStorage =
  | { kind: 'memory' }
  /** Schemas in a Kafka topic: they survive a restart of the registry. */
  | { kind: 'kafkasql'; bootstrapServers: string; topic: string };

export interface RegistryOptions {
  /** Where its pid and log files go. */
  dir: string;
  name?: string;
  port: number;
  /** Health and metrics (Quarkus' management interface); kept off the API's port. */
  managementPort: number;
  storage: RegistryStorage;
  /** Bound on the start, until the Confluent API answers. */
  timeoutMs?: number;
}

export interface RunningRegistry {
  daemon: Daemon;
  /** Base URL of the Confluent API, as the services take it (SCHEMA_REGISTRY_URL). */
  url: string;
}

/** The JVM flags of a registry, for the stack and the tests alike. */
export function registryArgs({ port, managementPort, storage }: RegistryOptions): string[] {
  const storageFlags =
    storage.kind === 'memory'
      ? []
      : [
          '-Dapicurio.storage.kind=kafkasql',
          `-Dapicurio.kafkasql.bootstrap.servers=${storage.bootstrapServers}`,
          `-Dapicurio.kafkasql.topic=${storage.topic}`,
          `-Dapicurio.kafkasql.snapshots.topic=${storage.topic}-snapshots`,
        ];
  return [
    '-Xmx384m',
    `-Dquarkus.http.port=${port}`,
    '-Dquarkus.http.host=127.0.0.1',
    `-Dquarkus.management.port=${managementPort}`,
    '-Dquarkus.management.host=127.0.0.1',
    // One line per request is noise in the stack's log.
    '-Dquarkus.http.access-log.enabled=false',
    ...storageFlags,
    '-jar',
    'quarkus-run.jar',
  ];
}

/** Starts a registry as a daemon and resolves once its Confluent API answers. */
export async function startRegistry(options: RegistryOptions): Promise<RunningRegistry> {
  const [appDir, javaHome] = await Promise.all([ensureApicurio(), registryJavaHome()]);
  const name = options.name ?? 'schema-registry';
  const daemon = await startDaemon({
    dir: options.dir,
    name,
    command: path.join(javaHome, 'bin', 'java'),
    args: registryArgs(options),
    env: { JAVA_HOME: javaHome },
    cwd: appDir,
  });
  const base = `http://127.0.0.1:${options.port}`;
  await waitUntilAnswering(options.dir, daemon, `${base}${CCOMPAT_PATH}/subjects`, options.timeoutMs ?? 90_000);
  return { daemon, url: base + CCOMPAT_PATH };
}

export async function stopRegistry(dir: string, name = 'schema-registry'): Promise<void> {
  await stopDaemon(dir, name, { timeoutMs: 15_000 });
}
