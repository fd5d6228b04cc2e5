// The peers the bench measures beside the pipeline, each on its own fresh topic of the same
// Kafka, under the same load generator: Benthos (bench/peers/benthos, a Go main of ours built into
// .cache/tools like the other Go tools) and the FastAPI stack (bench/peers/fastapi, its pinned
// packages installed once into a virtual environment under .cache/bench). Both answer only once
// Kafka acknowledged every record of a request (acks=all, idempotent), as ours does.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { errorCode, runCommand } from '../scripts/kafka/jars';
import { ensureGoTool, GO_TOOLS } from '../scripts/tools/go-tools';
import { BENCH_CACHE, startChild, waitReady, type Child } from './processes';

const PEERS_DIR = path.join(__dirname, 'peers');
const BENTHOS_DIR = path.join(PEERS_DIR, 'benthos');
const FASTAPI_DIR = path.join(PEERS_DIR, 'fastapi');
const REQUIREMENTS = path.join(FASTAPI_DIR, 'requirements.txt');

export const BENTHOS_VERSION = /v4 (v[\d.]+)/.exec(GO_TOOLS.benthos.version)?.[1] ?? 'unknown';

/** The versions the FastAPI peer runs, from its pinned requirements. */
export function fastapiVersions(): Record<string, string> {
  const pins = new Map(
    readFileSync(REQUIREMENTS, 'utf8')
      .split('\n')
      .map((line) => /^([A-Za-z0-9_.-]+)==(\S+)/.exec(line))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => [match[1]!.toLowerCase(), match[2]!]),
  );
  return {
    fastapi: pins.get('fastapi') ?? 'unknown',
    uvicorn: pins.get('uvicorn') ?? 'unknown',
    aiokafka: pins.get('aiokafka') ?? 'unknown',
  };
}

export interface PeerStart {
  brokers: string;
  topic: string;
  port: number;
}

export interface BenthosStart extends PeerStart {
  /** Benthos's own endpoints (/ready, /metrics). */
  adminPort: number;
  /** With telemetry: the OTLP/HTTP endpoint (http://host:port) of the bench's Jaeger. */
  otlpHttpEndpoint?: string;
}

/** The Benthos binary, built from bench/peers/benthos on first use. */
export function ensureBenthos(): Promise<string> {
  return ensureGoTool('benthos');
}

export async function startBenthos(binary: string, opts: BenthosStart): Promise<Child> {
  const dir = path.join(BENCH_CACHE, 'benthos');
  await mkdir(dir, { recursive: true });
  // Its tracer is a top-level section of its own: with telemetry the two files are one config.
  const parts = [await readFile(path.join(BENTHOS_DIR, 'benthos.yaml'), 'utf8')];
  if (opts.otlpHttpEndpoint) parts.push(await readFile(path.join(BENTHOS_DIR, 'telemetry.yaml'), 'utf8'));
  const config = path.join(dir, opts.otlpHttpEndpoint ? 'benthos-traced.yaml' : 'benthos.yaml');
  await writeFile(config, parts.join('\n'));
  const child = startChild(opts.otlpHttpEndpoint ? 'benthos-traced' : 'benthos', binary, ['-c', config], {
    cwd: dir,
    env: {
      BENTHOS_PORT: String(opts.port),
      BENTHOS_ADMIN_PORT: String(opts.adminPort),
      KAFKA_BROKERS: opts.brokers,
      EVENTS_TOPIC: opts.topic,
      OTLP_HTTP_ADDRESS: opts.otlpHttpEndpoint?.replace(/^https?:\/\//, '') ?? '',
    },
  });
  // Ready once its input and output are connected (the output to Kafka).
  await waitReady(child, `http://127.0.0.1:${opts.adminPort}/ready`, 60_000);
  return child;
}

/** The FastAPI peer's virtual environment, made once per requirements file; answers its bin/. */
export async function ensureFastapiVenv(): Promise<string> {
  const stamp = createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex').slice(0, 12);
  const venv = path.join(BENCH_CACHE, `fastapi-venv-${stamp}`);
  const bin = path.join(venv, 'bin');
  // A virtual environment's scripts name its own path, so it is made in place; the marker says
  // the install finished.
  const complete = path.join(venv, '.installed');
  if (existsSync(complete)) return bin;
  try {
    await runCommand('python3', ['--version']);
  } catch (error) {
    const why = errorCode(error) === 'ENOENT' ? 'there is no `python3` on PATH' : String(error);
    throw new Error(`the FastAPI peer is installed from PyPI with python3 and ${why}`, { cause: error });
  }
  await rm(venv, { recursive: true, force: true });
  await mkdir(BENCH_CACHE, { recursive: true });
  await runCommand('python3', ['-m', 'venv', venv]);
  await runCommand(path.join(bin, 'python'), [
    ...['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--quiet'],
    ...['--only-binary=:all:', '-r', REQUIREMENTS],
  ]);
  await writeFile(complete, `${stamp}\n`);
  return bin;
}

/** uvicorn with one worker per core, as its deployment documentation advises. */
export async function startFastapi(bin: string, opts: PeerStart): Promise<Child> {
  const child = startChild(
    'fastapi',
    path.join(bin, 'uvicorn'),
    [
      'app:app',
      ...['--app-dir', FASTAPI_DIR],
      ...['--host', '127.0.0.1', '--port', String(opts.port)],
      ...['--workers', String(os.availableParallelism())],
      // Ours logs at warn and so writes no line per request; neither does the peer.
      ...['--no-access-log', '--log-level', 'warning'],
    ],
    { env: { KAFKA_BROKERS: opts.brokers, EVENTS_TOPIC: opts.topic } },
  );
  await waitReady(child, `http://127.0.0.1:${opts.port}/health/ready`, 60_000);
  return child;
}
