import { spawn } from 'node:child_process';
import path from 'node:path';
import { leaseCluster, type ClusterLease } from './support/cluster';
import { send, sendRaw } from './support/http';
import { scenarioNames, spawnScenarioProducer } from './support/pipeline';

jest.setTimeout(120_000);

const KEY = 'rk-live-4f9c2a7be81d4e0a9c33';
const OTHER_KEY = 'rk-live-0d1e2f3a4b5c6d7e8f90';
const WRONG_KEY = 'rk-live-wrong-7d6c5b4a3f2e1d0c';

// API keys are secrets: whatever a client sends, and however the producer fails, no log line
// holds one, the configured keys included.
describe('secrets in logs', () => {
  let lease: ClusterLease;
  beforeAll(async () => (lease = await leaseCluster()));
  afterAll(async () => lease?.release());

  it('no API key appears in the producer output, at debug level, whatever the requests', async () => {
    const names = scenarioNames('secrets');
    const producer = await spawnScenarioProducer(lease.brokers, names, {
      API_KEYS: `${KEY},${OTHER_KEY}`,
      LOG_LEVEL: 'debug',
      BODY_LIMIT_BYTES: '4096',
    });
    const json = { 'content-type': 'application/json' };
    const answers = [
      await send(producer.url, { headers: { ...json, authorization: `Bearer ${KEY}` }, body: '{"type":"a"}' }),
      await send(producer.url, { headers: { ...json, authorization: `Bearer ${WRONG_KEY}` }, body: '{"type":"a"}' }),
      await send(producer.url, { headers: { ...json, authorization: `Basic ${KEY}` }, body: '{"type":"a"}' }),
      await send(producer.url, { headers: { ...json, authorization: `Bearer ${KEY}` }, body: '{"type":' }),
      await send(producer.url, { headers: { ...json, authorization: `Bearer ${KEY}` }, body: 'x'.repeat(10_000) }),
      await send(producer.url, {
        headers: { ...json, authorization: `Bearer ${KEY}`, 'idempotency-key': 'a b' },
        body: '{"type":"a"}',
      }),
      await send(producer.url, { method: 'PUT', headers: { authorization: `Bearer ${KEY}` } }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([202, 401, 401, 400, 413, 400, 405]);
    await sendRaw(producer.url, [
      `POST /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nContent-Length: nope\r\n\r\n`,
    ]);
    producer.child.kill('SIGTERM');
    expect(await producer.exited).toBe(0);

    const output = producer.output();
    expect(output).toContain('"msg":"shut down"');
    for (const secret of [KEY, OTHER_KEY, WRONG_KEY]) expect(output).not.toContain(secret);
  });

  it('a configuration error about API_KEYS names the variable, not the keys', async () => {
    const entry = path.resolve(__dirname, '../../producer/dist/main.js');
    const child = spawn(process.execPath, [entry], {
      env: { PATH: process.env.PATH ?? '', API_KEYS: `${KEY},short-secret` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(output).toContain('API_KEYS');
    expect(output).not.toContain('short-secret');
    expect(output).not.toContain(KEY);
  });
});
