// The Strimzi Kafka Bridge as a peer: its jars from Maven (bridge/pom.xml) into .cache/bridge,
// started with acks=all (its default is 1) on the bench's Kafka. When its jars cannot be fetched
// the run goes on without it and says why.
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fetchWithMaven, javaBinary } from '../scripts/kafka/jars';
import { REPO_ROOT, startChild, waitReady, type Child } from './processes';

const POM = path.join(__dirname, 'bridge', 'pom.xml');
const pomText = readFileSync(POM, 'utf8');
export const BRIDGE_VERSION = /<bridge\.version>([^<]+)<\/bridge\.version>/.exec(pomText)?.[1]?.trim() ?? 'unknown';
const BRIDGE_DIR = path.join(REPO_ROOT, '.cache', 'bridge', BRIDGE_VERSION);

/** The jar folder, fetched once; throws with Maven's own reason when it cannot be fetched. */
export async function ensureBridgeJars(): Promise<string> {
  try {
    return await fetchWithMaven({
      pom: POM,
      dir: path.join(BRIDGE_DIR, 'libs'),
      what: `the Strimzi Kafka Bridge ${BRIDGE_VERSION} jars`,
      log: (message) => process.stderr.write(`bench: ${message}\n`),
      missingCommand: 'fetching the Strimzi Kafka Bridge needs Maven (mvn) on PATH',
      // Asked again each run rather than trusting a cached "not found".
      mavenArgs: ['-U'],
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const found = /Could not find artifact[^\n]*|Could not resolve[^\n]*/.exec(message)?.[0];
    // Maven names the repository by its address; the report names it by what it is.
    const reason = (found ?? message.split('\n').slice(-5).join(' '))
      .replace(/\s*-> \[Help \d+\]/, '')
      .replace(/ in central \(https?:\/\/[^)]*\)/g, ' in Maven Central')
      .replace(/https?:\/\/\S+/g, 'Maven Central');
    throw new Error(`Maven could not fetch io.strimzi:kafka-bridge:${BRIDGE_VERSION}: ${reason}`, { cause: error });
  }
}

export async function startBridge(opts: { libs: string; brokers: string; port: number }): Promise<Child> {
  const config = path.join(BRIDGE_DIR, 'application.properties');
  await writeFile(
    config,
    [
      'bridge.id=bench-bridge',
      `kafka.bootstrap.servers=${opts.brokers}`,
      'kafka.producer.acks=all',
      'kafka.producer.enable.idempotence=true',
      'http.enabled=true',
      'http.host=127.0.0.1',
      `http.port=${opts.port}`,
      '',
    ].join('\n'),
  );
  const child = startChild(
    'bridge',
    javaBinary(),
    ['-Xmx512m', '-cp', path.join(opts.libs, '*'), 'io.strimzi.kafka.bridge.Application', '--config-file', config],
    { cwd: BRIDGE_DIR },
  );
  await waitReady(child, `http://127.0.0.1:${opts.port}/ready`, 120_000);
  return child;
}

/** The bridge's produce request for the same events: `{"records":[{"value":<event>}, ...]}`. */
export function bridgeBody(events: unknown[]): string {
  return JSON.stringify({ records: events.map((value) => ({ value })) });
}

export const BRIDGE_CONTENT_TYPE = 'application/vnd.kafka.json.v2+json';
