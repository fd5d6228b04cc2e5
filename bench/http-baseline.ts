// The HTTP ceiling: a bare node:http server that reads the body and answers 202 with one id, as
// the producer does for a one-event request, and nothing else. No framework, no Kafka.
// Run: node --import tsx bench/http-baseline.ts <port>
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 21181);
const server = createServer((request, response) => {
  request.on('data', () => undefined);
  request.on('end', () => {
    const body = `{"ids":["${randomUUID()}"]}`;
    response.writeHead(202, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
