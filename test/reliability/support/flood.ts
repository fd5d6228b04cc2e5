import { readFileSync } from 'node:fs';
import { connect } from 'node:net';

/**
 * How a flooding connection ended: the status it was answered with, or `reset` when the
 * connection broke before the client read an answer. A server that refuses a body before reading
 * it closes a connection the client is still writing to, and such a client may see the reset
 * (EPIPE, ECONNRESET) before the 503 it was sent: HTTP/1.1 gives no way around it.
 */
export type FloodEnding = number | 'reset' | 'closed';

/** A process and all its descendants (a producer's primary and its workers), from /proc. */
export function processTree(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // Gone meanwhile: it has no children to count.
  }
  return [pid, ...children.flatMap(processTree)];
}

/** Resident memory of a process and its descendants, from /proc. */
export function rssBytes(pid: number): number {
  let total = 0;
  for (const each of processTree(pid)) {
    let status: string;
    try {
      status = readFileSync(`/proc/${each}/status`, 'utf8');
    } catch {
      continue; // gone since the tree was read
    }
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    if (match) total += Number(match[1]) * 1024;
  }
  if (total === 0) throw new Error(`no VmRSS for process ${pid}`);
  return total;
}

/**
 * `connections` clients that each send the headers of a `bodyBytes` JSON body and all of it
 * but its last byte, then hold the connection: the most memory a client can make a server keep
 * for it. Resolves with how each connection ended.
 */
export function floodWithHeldBodies(port: number, connections: number, bodyBytes: number): Promise<FloodEnding[]> {
  const head = Buffer.from(
    `POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${bodyBytes}\r\n\r\n`,
  );
  // One Buffer written to every connection; the closing `"}`'s last byte never comes.
  const body = Buffer.from('{"type":"flood","data":"'.padEnd(bodyBytes - 2, 'x') + '"');
  const hold = (): Promise<FloodEnding> =>
    new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let answer = '';
      let settled = false;
      const settle = (ending: FloodEnding): void => {
        if (settled) return;
        settled = true;
        socket.destroy();
        resolve(ending);
      };
      socket.on('connect', () => {
        socket.write(head);
        socket.write(body);
      });
      socket.on('data', (chunk: Buffer) => {
        answer += chunk.toString('latin1');
        const status = /^HTTP\/1\.1 (\d{3})/.exec(answer);
        if (status) settle(Number(status[1]));
      });
      socket.on('error', () => settle('reset'));
      socket.on('close', () => settle('closed'));
    });
  return Promise.all(Array.from({ length: connections }, hold));
}
