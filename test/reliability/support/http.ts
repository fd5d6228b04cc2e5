import { Agent, request } from 'node:http';
import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

/**
 * One request with exactly these headers and bytes (fetch would add or refuse some). An
 * answer that closes the connection early still counts: the status is what was sent.
 */
export function send(
  url: string,
  {
    method = 'POST',
    path = '/events',
    headers = {},
    body,
  }: {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: Buffer | string;
  },
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const target = new URL(path, url);
    const req = request(target, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
      res.on('error', reject);
    });
    // The server may answer (413) and close before the whole body is written.
    req.on('error', (error) => reject(error));
    req.setTimeout(30_000, () => req.destroy(new Error(`no answer to ${method} ${path} within 30 s`)));
    req.end(body);
  });
}

/** Bytes over a plain socket, written in `chunks` with `gapMs` between them; resolves with all the server wrote. */
export function sendRaw(url: string, chunks: (string | Buffer)[], gapMs = 0): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    let closed = false;
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('close', () => {
      closed = true;
      resolve(answer);
    });
    socket.on('error', (error) => (answer ? resolve(answer) : reject(error)));
    socket.setTimeout(30_000, () => socket.destroy(new Error('no answer within 30 s')));
    void (async () => {
      for (const chunk of chunks) {
        if (closed) return;
        socket.write(chunk);
        if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
      }
    })();
  });
}

export function closeAgent(): void {
  agent.destroy();
}
