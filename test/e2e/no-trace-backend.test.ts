import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { testPort, uniqueName } from '../support/kafka';
import { postJson } from '../support/pipeline';
import { spawnProducer, type ServiceProcess } from '../support/processes';
import { waitFor } from '../support/wait';

jest.setTimeout(120_000);

const FAILING = 'trace export failing: spans are dropped until the trace backend answers';
const RECOVERED = 'trace export recovered';

function listening<T extends HttpServer | TcpServer>(server: T, port: number): Promise<T> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function closed(server: HttpServer | TcpServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function jsonLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

// The producer as `npm start` runs it, bootstrap preloaded, with its OTLP endpoint on a loopback
// port where first nothing listens, then a server that drops every connection, then a receiver.
describe('a service whose trace backend does not answer', () => {
  const otlpPort = testPort(10_950);
  const endpoint = `http://127.0.0.1:${otlpPort}`;
  let producer: ServiceProcess;
  let sent = 0;

  const postAnEvent = async (): Promise<void> => {
    const response = await postJson(producer.url, { type: 'probe', data: { n: (sent += 1) } });
    expect(response.status).toBe(202);
  };
  const said = (msg: string) => jsonLines(producer.output()).filter((line) => line.msg === msg);

  beforeAll(async () => {
    producer = await spawnProducer(
      uniqueName('events'),
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        // Exports every 100 ms, each given up after 500 ms: many failed exports in a short test.
        OTEL_BSP_SCHEDULE_DELAY: '100',
        OTEL_EXPORTER_OTLP_TIMEOUT: '500',
        // One process: each worker has a telemetry bootstrap of its own, and this counts the
        // lines one bootstrap writes.
        PRODUCER_WORKERS: '1',
      },
      { telemetry: true },
    );
  });

  afterAll(async () => {
    producer.child.kill('SIGTERM');
    await producer.exited;
  });

  it('says so once, naming the endpoint and how to turn tracing off, then once that it recovered', async () => {
    // Nothing listens: the connection is refused.
    await waitFor(
      'the warning that trace export fails',
      async () => {
        await postAnEvent();
        return said(FAILING).length > 0;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );

    // Something listens and drops every connection: more failed exports, each one seen here.
    let dropped = 0;
    const dropping = await listening(
      createTcpServer((socket) => {
        dropped += 1;
        socket.destroy();
      }),
      otlpPort,
    );
    await waitFor('five dropped exports', async () => {
      await postAnEvent();
      return dropped >= 5;
    });
    await closed(dropping);

    // A receiver that takes the spans.
    let received = 0;
    const receiver = await listening(
      createHttpServer((request, response) => {
        request.resume();
        request.on('end', () => {
          if (request.url === '/v1/traces') received += 1;
          response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        });
      }),
      otlpPort,
    );
    try {
      await waitFor('the line that trace export recovered', async () => {
        await postAnEvent();
        return said(RECOVERED).length > 0;
      });
    } finally {
      await closed(receiver);
    }

    const output = producer.output();
    expect(said(FAILING)).toEqual([
      expect.objectContaining({
        level: 'warn',
        service: 'producer',
        endpoint: `${endpoint}/v1/traces`,
        err: `connect ECONNREFUSED 127.0.0.1:${otlpPort}`,
        hint: expect.stringMatching(/OTEL_SDK_DISABLED=true .*OTEL_TRACES_EXPORTER=none/),
      }),
    ]);
    expect(said(RECOVERED)).toEqual([expect.objectContaining({ level: 'info', endpoint: `${endpoint}/v1/traces` })]);
    // One refused connection at least, and the five dropped.
    expect(said(RECOVERED)[0]!.failed_exports).toBeGreaterThanOrEqual(6);
    expect(received).toBeGreaterThan(0);
    // No error stack, no other line about the failed exports.
    expect(output).not.toMatch(/"stack"|\n\s+at /);
    expect(output.split('\n').filter((line) => /ECONNREFUSED|ECONNRESET|socket hang up/.test(line))).toHaveLength(1);
  });
});
