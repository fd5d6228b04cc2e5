import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { PROBLEM_CONTENT_TYPE } from './problem';

const ANSWERS: Record<string, [number, string, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request-timeout', 'Request timeout'],
  HPE_HEADER_OVERFLOW: [431, 'headers-too-large', 'Request header fields too large'],
};

/**
 * Requests Node refuses before they reach the app (unparsable HTTP, headers too large, a
 * request or headers timeout) are answered as problem+json too, then the socket closes.
 */
export function answerClientErrorsAsProblems(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, slug, title] = ANSWERS[error.code ?? ''] ?? [400, 'bad-request', 'Bad request'];
    const body = JSON.stringify({ type: `urn:event-pipeline:problem:${slug}`, title, status });
    socket.end(
      `HTTP/1.1 ${status} ${title}\r\ncontent-type: ${PROBLEM_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
}
