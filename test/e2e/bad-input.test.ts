import { connect } from 'node:net';
import { topicRecordCount, uniqueName } from '../support/kafka';
import { metricValue, postJson, startProducer } from '../support/pipeline';

jest.setTimeout(60_000);

interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: Array<{ index?: number; pointer: string; message: string }>;
}

async function expectProblem(response: Response, status: number): Promise<Problem> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const problem = (await response.json()) as Problem;
  expect(problem).toMatchObject({
    status,
    type: expect.stringMatching(/^urn:event-pipeline:problem:/),
    title: expect.any(String),
  });
  return problem;
}

describe('bad input never reaches the topic', () => {
  const topic = uniqueName('events');
  let producer: Awaited<ReturnType<typeof startProducer>>;

  beforeAll(async () => {
    producer = await startProducer({
      EVENTS_TOPIC: topic,
      BODY_LIMIT_BYTES: '4096',
      MAX_EVENTS_PER_REQUEST: '50',
      PRODUCE_BATCH_MAX_BYTES: '2048',
    });
  });

  afterAll(async () => {
    await producer?.stop();
  });

  it('answers 400 for malformed JSON', async () => {
    const problem = await expectProblem(await postJson(producer.url, '{"type": "a", "data": '), 400);
    expect(problem.type).toBe('urn:event-pipeline:problem:malformed-json');
  });

  it('answers 400 for a body that is not UTF-8', async () => {
    const body = Buffer.concat([Buffer.from('{"type":"a","data":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    const response = await fetch(`${producer.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect((await expectProblem(response, 400)).detail).toMatch(/UTF-8/);
  });

  it('answers 400 for prototype-polluting keys', async () => {
    await expectProblem(await postJson(producer.url, '{"type":"a","data":{"__proto__":{"admin":true}}}'), 400);
  });

  it('answers 415 for a content type other than JSON, and for none', async () => {
    const text = await fetch(`${producer.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{"type":"a"}',
    });
    const problem = await expectProblem(text, 415);
    expect(problem.detail).toMatch(/text\/plain/);
    expect(text.headers.get('accept-post')).toBe(
      'application/json, application/cloudevents+json, application/cloudevents-batch+json',
    );
    const none = await fetch(`${producer.url}/events`, {
      method: 'POST',
      body: new Uint8Array(Buffer.from('{"type":"a"}')),
    });
    await expectProblem(none, 415);
  });

  it('answers 413 for a body over the limit', async () => {
    const big = { type: 'a', data: 'x'.repeat(5000) };
    const problem = await expectProblem(await postJson(producer.url, big), 413);
    expect(problem.detail).toMatch(/4096/);
  });

  it('answers 400 naming every failing item and field of a batch, and produces none of it', async () => {
    const response = await postJson(producer.url, [
      { type: 'ok', data: 1 },
      { data: 2 },
      { type: 'ok', time: 'yesterday', colour: 'red' },
    ]);
    const problem = await expectProblem(response, 400);
    expect(problem.type).toBe('urn:event-pipeline:problem:invalid-event');
    expect(problem.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ index: 1, pointer: '/1/type' }),
        expect.objectContaining({ index: 2, pointer: '/2/time' }),
        expect.objectContaining({ index: 2, pointer: '/2/colour' }),
      ]),
    );
    expect(problem.errors!.some((error) => error.index === 0)).toBe(false);
  });

  it('answers 400 for an empty batch, a batch over the limit and a body that is no event', async () => {
    await expectProblem(await postJson(producer.url, []), 400);
    await expectProblem(
      await postJson(
        producer.url,
        Array.from({ length: 51 }, () => ({ type: 'a' })),
      ),
      400,
    );
    await expectProblem(await postJson(producer.url, '"just a string"'), 400);
    await expectProblem(await postJson(producer.url, 'null'), 400);
  });

  it('answers 413 for one event larger than a produce request may carry', async () => {
    const problem = await expectProblem(
      await postJson(producer.url, [{ type: 'a' }, { type: 'b', data: 'y'.repeat(3000) }]),
      413,
    );
    expect(problem.type).toBe('urn:event-pipeline:problem:event-too-large');
    expect(problem.errors).toEqual([expect.objectContaining({ index: 1, pointer: '/1' })]);
  });

  it('answers 413 to a chunked body once it passes the limit, and closes the connection', async () => {
    const chunks = async function* () {
      for (let index = 0; index < 10; index += 1) yield Buffer.from('['.padEnd(1000, ' '));
    };
    const response = await fetch(`${producer.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: ReadableStream.from(chunks()),
      duplex: 'half',
    } as RequestInit);
    await expectProblem(response, 413);
    expect(response.headers.get('connection')).toBe('close');
  });

  it('answers 400 for JSON nested deeper than 64 levels, without crashing', async () => {
    const deep = '{"type":"a","data":' + '['.repeat(70) + ']'.repeat(70) + '}';
    expect((await expectProblem(await postJson(producer.url, deep), 400)).detail).toMatch(/deeper than 64/);
    const veryDeep = '['.repeat(2000) + ']'.repeat(2000);
    await expectProblem(await postJson(producer.url, veryDeep), 400);
  });

  it('answers 415 for a content encoding it does not read, and 400 for a request without a body', async () => {
    const gzip = await postJson(producer.url, '{"type":"a"}', { 'content-encoding': 'gzip' });
    expect((await expectProblem(gzip, 415)).type).toBe('urn:event-pipeline:problem:unsupported-content-encoding');
    const empty = await fetch(`${producer.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    expect((await expectProblem(empty, 400)).detail).toBe('the body is empty');
  });

  it('answers a request Node cannot even parse with problem+json', async () => {
    const { port } = new URL(producer.url);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () =>
        socket.end('POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n'),
      );
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toMatch(/content-type: application\/problem\+json/i);
  });

  it('answers 404 and 405 as problems too', async () => {
    await expectProblem(await fetch(`${producer.url}/nope`), 404);
    const wrongMethod = await fetch(`${producer.url}/events`, { method: 'PUT' });
    await expectProblem(wrongMethod, 405);
    expect(wrongMethod.headers.get('allow')).toContain('POST');
  });

  it('produced not one record for any of the requests above', async () => {
    expect(await topicRecordCount(topic)).toBe(0);
    const metrics = await (await fetch(`${producer.url}/metrics`)).text();
    expect(metricValue(metrics, 'events_ingested_total{outcome="accepted"}')).toBe(0);
    expect(metricValue(metrics, 'events_ingested_total{outcome="invalid"}')).toBeGreaterThanOrEqual(10);
  });
});
