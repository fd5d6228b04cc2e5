import { spawn } from 'node:child_process';
import { ensureGoTool } from '../../../scripts/tools/go-tools';
import { testPort } from '../../support/kafka';
import { waitFor } from '../../support/wait';

/** Toxiproxy's HTTP API on base + 10530; its proxies listen where the brokers' PROXIED listeners advertise. */
export const toxiproxyApiPort = (): number => testPort(10_530);
/** The brokers' PROXIED listeners on base + 10510..10512, advertising the proxies on base + 10520..10522. */
export const RELIABILITY_PROXIED = {
  port: (): number => testPort(10_510),
  advertisedPort: (): number => testPort(10_520),
};

export type ToxicType = 'latency' | 'bandwidth' | 'timeout' | 'reset_peer' | 'slicer' | 'limit_data' | 'slow_close';

export interface Toxic {
  type: ToxicType;
  /** downstream: broker to client; upstream: client to broker. */
  stream: 'downstream' | 'upstream';
  attributes: Record<string, number>;
}

export interface Toxiproxy {
  /** Puts `toxic` on the proxy of node `node` (all nodes when undefined); resolves once it is in place. */
  add(name: string, toxic: Toxic, node?: number): Promise<void>;
  /** Takes the toxic `name` off wherever it was put. */
  remove(name: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A Toxiproxy server (built once into .cache/tools) with one proxy per broker: from the address
 * the broker's PROXIED listener advertises to where that listener really is.
 */
export async function startToxiproxy(upstreams: string[], advertised: string[]): Promise<Toxiproxy> {
  const binary = await ensureGoTool('toxiproxy');
  const apiPort = toxiproxyApiPort();
  const child = spawn(binary, ['-host', '127.0.0.1', '-port', String(apiPort)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const api = `http://127.0.0.1:${apiPort}`;
  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(api + path, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`toxiproxy ${method} ${path}: ${response.status} ${text}`);
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  };
  try {
    await waitFor('toxiproxy answering', async () => (await fetch(`${api}/version`)).ok, { timeoutMs: 20_000 });
    for (const [node, upstream] of upstreams.entries()) {
      const listen = advertised[node]!.replace(/^localhost:/, '127.0.0.1:');
      await call('POST', '/proxies', { name: `node${node}`, listen, upstream, enabled: true });
    }
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n--- toxiproxy output ---\n${output}`, { cause: error });
  }
  const placed = new Map<string, number[]>();
  const nodes = upstreams.map((_, node) => node);
  return {
    async add(name, toxic, node) {
      const on = node === undefined ? nodes : [node];
      for (const each of on) {
        await call('POST', `/proxies/node${each}/toxics`, { name, toxicity: 1, ...toxic });
      }
      placed.set(name, on);
    },
    async remove(name) {
      for (const each of placed.get(name) ?? []) await call('DELETE', `/proxies/node${each}/toxics/${name}`);
      placed.delete(name);
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
