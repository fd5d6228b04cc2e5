// Jaeger v2 from the Go module proxy (scripts/tools), run with observability/jaeger/config.yaml:
// the file compose mounts too. Its addresses come from environment variables with the
// contract's ports as defaults, so tests run their own beside a running stack.
import path from 'node:path';
import { startDaemon, stopDaemon, waitUntilAnswering } from '../stack/daemon';
import { ensureGoTool } from '../tools/go-tools';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const JAEGER_CONFIG = path.join(REPO_ROOT, 'observability', 'jaeger', 'config.yaml');

export interface JaegerPorts {
  otlpGrpc: number;
  otlpHttp: number;
  query: number;
  queryGrpc: number;
  health: number;
  metrics: number;
}

/** The contract's ports (DESIGN.md): OTLP 4317/4318, the query API and UI 16686. */
export const JAEGER_PORTS: JaegerPorts = {
  otlpGrpc: 4317,
  otlpHttp: 4318,
  query: 16686,
  queryGrpc: 16685,
  health: 13133,
  metrics: 8888,
};

export interface JaegerOptions {
  /** Where its pid and log go. */
  dir: string;
  ports?: JaegerPorts;
  /** The interface to listen on; 127.0.0.1 keeps a test's instance private. */
  host?: string;
  startTimeoutMs?: number;
}

export interface Jaeger {
  /** The query API, e.g. http://127.0.0.1:16686 (`/api/traces`, `/api/services`). */
  readonly queryUrl: string;
  /** What OTEL_EXPORTER_OTLP_ENDPOINT should say to send here over OTLP/HTTP. */
  readonly otlpHttpEndpoint: string;
  readonly logFile: string;
  stop(): Promise<void>;
}

export function jaegerEnv(ports: JaegerPorts, host: string): Record<string, string> {
  return {
    OTLP_GRPC_ENDPOINT: `${host}:${ports.otlpGrpc}`,
    OTLP_HTTP_ENDPOINT: `${host}:${ports.otlpHttp}`,
    JAEGER_QUERY_ENDPOINT: `${host}:${ports.query}`,
    JAEGER_QUERY_GRPC_ENDPOINT: `${host}:${ports.queryGrpc}`,
    JAEGER_HEALTH_ENDPOINT: `${host}:${ports.health}`,
    JAEGER_METRICS_HOST: host,
    JAEGER_METRICS_PORT: String(ports.metrics),
  };
}

/** Builds Jaeger once if needed, starts it detached, and resolves when it is healthy. */
export async function startJaeger({
  dir,
  ports = JAEGER_PORTS,
  host = '127.0.0.1',
  startTimeoutMs = 60_000,
}: JaegerOptions): Promise<Jaeger> {
  const binary = await ensureGoTool('jaeger');
  const daemon = await startDaemon({
    dir,
    name: 'jaeger',
    command: binary,
    args: ['--config', JAEGER_CONFIG],
    env: jaegerEnv(ports, host),
  });
  const local = host === '0.0.0.0' ? '127.0.0.1' : host;
  const jaeger: Jaeger = {
    queryUrl: `http://${local}:${ports.query}`,
    otlpHttpEndpoint: `http://${local}:${ports.otlpHttp}`,
    logFile: daemon.logFile,
    stop: async () => {
      await stopDaemon(dir, 'jaeger', { timeoutMs: 10_000 });
    },
  };
  // The query API is the part the tests and people use; it answers once Jaeger has started.
  await waitUntilAnswering(dir, daemon, `${jaeger.queryUrl}/api/services`, startTimeoutMs);
  return jaeger;
}
