import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureDebianTools } from '../../scripts/tools/debian';
import { ensureGoTool } from '../../scripts/tools/go-tools';
import type { Jaeger } from '../../scripts/jaeger/jaeger';
import { handlerModule } from '../support/handlers';
import { startTestJaeger, waitForEventTrace, type TraceSpan } from '../support/jaeger';
import {
  readTopic,
  testBrokers,
  testPort,
  testKafka,
  topicRecordCount,
  uniqueName,
  withAdmin,
  type ReadRecord,
} from '../support/kafka';
import { postJson } from '../support/pipeline';
import { spawnPipeline, type ServiceProcess } from '../support/processes';
import { waitFor } from '../support/wait';
import { redriveGroupId } from '../../consumer/src/dlq/redrive';
import { encodePendingSend } from '../../consumer/src/dlq/redrive-record';
import { EMPTY_SELECTOR } from '../../consumer/src/dlq/selector';

jest.setTimeout(300_000);

const ROOT = path.resolve(__dirname, '../..');
const DLQ_BIN = path.join(ROOT, 'consumer', 'bin', 'dlq.js');
const MAX_ATTEMPTS = 2;

interface DlqRun {
  code: number | NodeJS.Signals;
  stdout: string;
  stderr: string;
}

// The dlq command as operators run it: its own process, configured like the consumer, with the
// telemetry bootstrap (bin/dlq.js preloads it), against the real broker, Jaeger and Pushgateway.
describe('dlq: inspect and redrive dead letters', () => {
  const topic = uniqueName('events');
  const dlq = `${topic}.dlq`;
  const work = mkdtempSync(path.join(tmpdir(), 'dlq-'));
  const brokenFile = path.join(work, 'broken');
  const processedFile = path.join(work, 'processed.log');
  let jaeger: Jaeger;
  let pushgateway: ChildProcess;
  let pushgatewayUrl: string;
  let kcat: string;
  let producer: ServiceProcess;
  let consumer: ServiceProcess;
  let dlqEnv: Record<string, string>;

  const startDlq = (args: string[]): { child: ChildProcess; done: Promise<DlqRun> } => {
    const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', DLQ_BIN, ...args], {
      cwd: ROOT,
      env: dlqEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const done = new Promise<DlqRun>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code: code ?? signal ?? -1, stdout, stderr })),
    );
    return { child, done };
  };
  const runDlq = (...args: string[]): Promise<DlqRun> => startDlq(args).done;

  const processed = (): string[] => {
    try {
      return readFileSync(processedFile, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  const redrivenRecords = async (): Promise<ReadRecord[]> =>
    (await readTopic(topic)).filter((record) => record.headers['dlq.redriven.from'] !== undefined);
  // One request per event, so each event has a trace of its own.
  const postEvents = async (events: Array<{ id: string; type: string }>): Promise<void> => {
    const responses = await Promise.all(
      events.map((event) => postJson(producer.url, { ...event, source: '/shop', data: { id: event.id } })),
    );
    expect(responses.map((response) => response.status)).toEqual(events.map(() => 202));
  };

  beforeAll(async () => {
    const [tools, pushgatewayBinary] = await Promise.all([ensureDebianTools('kcat'), ensureGoTool('pushgateway')]);
    kcat = tools.kcat;
    const pushgatewayPort = testPort(10_966);
    pushgatewayUrl = `http://127.0.0.1:${pushgatewayPort}`;
    pushgateway = spawn(pushgatewayBinary, [`--web.listen-address=127.0.0.1:${pushgatewayPort}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let pushgatewayLog = '';
    pushgateway.stderr!.on('data', (chunk: Buffer) => (pushgatewayLog += chunk.toString()));
    const pushgatewayExited = new Promise<never>((_resolve, reject) =>
      pushgateway.once('exit', (code) => reject(new Error(`the Pushgateway exited with ${code}: ${pushgatewayLog}`))),
    );
    pushgatewayExited.catch(() => undefined);
    jaeger = await startTestJaeger(10_960);
    await Promise.race([
      waitFor('the Pushgateway', async () => (await fetch(`${pushgatewayUrl}/-/ready`)).ok),
      pushgatewayExited,
    ]);
    // The handler fails while the file `broken` exists: "fixing the handler" is removing it.
    writeFileSync(brokenFile, '');
    const telemetry = { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpEndpoint, OTEL_BSP_SCHEDULE_DELAY: '100' };
    ({ producer, consumer } = await spawnPipeline({
      topic,
      env: telemetry,
      telemetry: true,
      consumerEnv: {
        HANDLER_MODULE: handlerModule('broken-while-file'),
        BROKEN_FILE: brokenFile,
        PROCESSED_FILE: processedFile,
        MAX_ATTEMPTS: String(MAX_ATTEMPTS),
        RETRY_INITIAL_DELAY_MS: '20',
        RETRY_MAX_DELAY_MS: '50',
      },
    }));
    dlqEnv = {
      PATH: process.env.PATH ?? '',
      KAFKA_BROKERS: testBrokers().join(','),
      EVENTS_TOPIC: topic,
      DLQ_TOPIC: dlq,
      PUSHGATEWAY_URL: pushgatewayUrl,
      ...telemetry,
    };
  });

  afterAll(async () => {
    for (const service of [producer, consumer]) {
      if (!service) continue;
      service.child.kill('SIGTERM');
      await service.exited;
    }
    if (pushgateway?.exitCode === null) {
      const exited = new Promise((resolve) => pushgateway.once('exit', resolve));
      pushgateway.kill('SIGTERM');
      await exited;
    }
    await jaeger?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const orders = ['order-1', 'order-2', 'order-3'].map((id) => ({ id, type: 'order.placed' }));
  const audits = ['audit-1', 'audit-2'].map((id) => ({ id, type: 'audit.recorded' }));

  it('lists the dead letters of a failing handler grouped by type, error and partition', async () => {
    await postEvents([...orders, ...audits, { id: 'fine-1', type: 'test.ok' }]);
    await waitFor('5 dead letters', async () => (await topicRecordCount(dlq)) === 5, { timeoutMs: 60_000 });

    const listed = await runDlq('list', '--json');
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    const summary = JSON.parse(listed.stdout) as {
      total: number;
      byType: Array<{ type: string; count: number }>;
      byError: Array<{ name: string; message: string; count: number }>;
      byOriginalPartition: Array<{ topic: string; count: number }>;
      retention_ms: number;
    };
    expect(summary.total).toBe(5);
    expect(summary.byType.map(({ type, count }) => [type, count])).toEqual([
      ['order.placed', 3],
      ['audit.recorded', 2],
    ]);
    expect(summary.byError.map(({ name, message, count }) => [name, message, count])).toEqual([
      ['Error', 'payment service unavailable', 3],
      ['SchemaError', 'audit schema mismatch', 2],
    ]);
    expect(summary.byOriginalPartition.every((row) => row.topic === topic)).toBe(true);
    expect(summary.byOriginalPartition.reduce((sum, row) => sum + row.count, 0)).toBe(5);
    // The consumer created the dead-letter topic with its retention set (DLQ_RETENTION_MS's default).
    expect(summary.retention_ms).toBe(1_209_600_000);

    const table = await runDlq('list');
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`5 dead letter(s) in ${dlq}`);
    expect(table.stdout).toMatch(/Error: payment service unavailable\s*│\s*3/);
    expect(table.stdout).toMatch(/SchemaError: audit schema mismatch\s*│\s*2/);
  });

  it('shows a dead letter in full: attributes, data, dlq headers and trace id', async () => {
    const shown = await runDlq('show', '--id', 'audit-1', '--json');
    expect(shown.code).toBe(0);
    const [deadLetter] = JSON.parse(shown.stdout) as Array<Record<string, unknown>>;
    expect(deadLetter).toMatchObject({
      event: { id: 'audit-1', type: 'audit.recorded', source: '/shop', data: { id: 'audit-1' } },
      error: { name: 'SchemaError', message: 'audit schema mismatch' },
      attempts: 1,
      original: { topic },
      dlq_headers: { 'dlq.error.name': 'SchemaError', 'dlq.original.topic': topic },
    });
    expect(deadLetter!.trace_id).toMatch(/^[0-9a-f]{32}$/);
    const text = await runDlq('show', '--error', '/^Error: payment/');
    expect(text.code).toBe(0);
    expect(text.stdout.match(/^── /gm)).toHaveLength(3);
  });

  it('refuses bad arguments with one line and exit code 2, and a selector that matches nothing with 3', async () => {
    for (const args of [
      ['redrive', '--type', 'order.placed', '--rate', 'fast'],
      ['redrive'],
      ['redrive', '--since', '2h'],
      ['list', '--yes'],
      ['purge'],
      ['show', '--offset', 'seven'],
    ]) {
      const run = await runDlq(...args);
      expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/^dlq: /);
    }
    const nothing = await runDlq('redrive', '--type', 'no.such.type', '--yes');
    expect(nothing.code).toBe(3);
    expect(nothing.stderr.trim()).toBe(`dlq: no dead letter in ${dlq} matches --type no.such.type`);
  });

  it('sends nothing on a dry run (the default), and says how to send', async () => {
    const before = await topicRecordCount(topic);
    const dry = await runDlq('redrive', '--type', 'order.placed');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`dry run: would redrive 3 of 3 matching dead letter(s) in ${dlq}`);
    for (const { id } of orders) expect(dry.stdout).toContain(`id=${id}`);
    expect(dry.stdout).toContain('run it again with --yes');
    expect(await topicRecordCount(topic)).toBe(before);
    expect(await redrivenRecords()).toHaveLength(0);
  });

  it('redrives exactly the selected events once the handler is fixed; they are processed, the rest stay', async () => {
    rmSync(brokenFile);
    const run = await runDlq('redrive', '--type', 'order.placed', '--yes');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`3 sent, 0 already sent by an interrupted run, 0 failed`);

    await waitFor('the 3 redriven orders processed', () => orders.every(({ id }) => processed().includes(id)), {
      timeoutMs: 60_000,
    });
    const redriven = await redrivenRecords();
    expect(redriven.map((record) => record.headers.ce_id).sort()).toEqual(['order-1', 'order-2', 'order-3']);
    // Never deleted: the dead-letter topic still holds all five.
    const deadLetters = await readTopic(dlq);
    expect(deadLetters).toHaveLength(5);
    for (const record of redriven) {
      const source = deadLetters.find((deadLetter) => deadLetter.headers.ce_id === record.headers.ce_id)!;
      expect(record.key).toBe(source.key);
      expect(record.value).toBe(source.value);
      expect(record.headers).toMatchObject({
        'dlq.redriven.from': `${dlq}/${source.partition}/${source.offset}`,
        'dlq.redriven.attempts': String(MAX_ATTEMPTS),
        ce_id: source.headers.ce_id,
        ce_type: 'order.placed',
      });
      expect(Date.parse(record.headers['dlq.redriven.at']!)).not.toBeNaN();
      expect(
        Object.keys(record.headers).filter((name) => name.startsWith('dlq.') && !name.startsWith('dlq.redriven.')),
      ).toEqual([]);
    }
    // The audits were not selected: not sent, not processed.
    expect(processed().filter((id) => id.startsWith('audit-'))).toEqual([]);

    const metrics = await (await fetch(`${pushgatewayUrl}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(`events_redriven_total\\{[^}]*dlq_topic="${dlq.replaceAll('.', '\\.')}"[^}]*outcome="sent"[^}]*\\} 3`),
    );
    expect(metrics).toMatch(/dlq_redrive_last_success_timestamp_seconds\{[^}]*job="dlq-redrive"/);
  });

  it('sends nothing when the same redrive runs again', async () => {
    const before = await topicRecordCount(topic);
    const again = await runDlq('redrive', '--type', 'order.placed', '--yes');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to send: all 3 matching dead letter(s)');
    expect(await topicRecordCount(topic)).toBe(before);
  });

  it("puts the redrive in the event's own trace: failed attempts, dead-letter write, redrive, success", async () => {
    const spans = await waitForEventTrace(jaeger.queryUrl, 'order-2', (trace) =>
      trace.some(
        (span) =>
          span.name === `process ${topic}` &&
          trace.some((parent) => parent.spanId === span.parentId && parent.name === `redrive ${topic}`),
      ),
    );
    const named = (name: string): TraceSpan[] => spans.filter((span) => span.name === name);
    const failed = (span: TraceSpan): boolean => span.tags['otel.status_code'] === 'ERROR' || span.tags.error === true;
    const processes = named(`process ${topic}`);
    expect(processes).toHaveLength(2);
    expect(named('retry event').filter(failed)).toHaveLength(MAX_ATTEMPTS - 1);

    const [deadLetterSend] = named(`send ${dlq}`);
    expect(deadLetterSend).toMatchObject({ service: 'consumer', kind: 'producer' });
    const [redriveSpan] = named(`redrive ${topic}`);
    expect(redriveSpan).toMatchObject({ kind: 'producer', parentId: deadLetterSend!.spanId });
    expect(redriveSpan!.tags).toMatchObject({
      'messaging.destination.name': topic,
      'messaging.message.id': 'order-2',
    });
    const reprocessed = processes.find((span) => span.parentId === redriveSpan!.spanId)!;
    const first = processes.find((span) => span !== reprocessed)!;
    // The first process span failed its attempts and wrote the dead letter; the redriven copy succeeded.
    expect(first.tags).toMatchObject({ 'event.outcome': 'dead_lettered', 'event.attempts': MAX_ATTEMPTS });
    expect(failed(first)).toBe(true);
    expect(deadLetterSend!.parentId).toBe(first.spanId);
    expect(reprocessed.tags).toMatchObject({ 'event.outcome': 'handled', 'event.attempts': 1 });
    expect(failed(reprocessed)).toBe(false);
    for (const retry of named('retry event')) expect(retry.parentId).toBe(first.spanId);
  });

  it('shows the redrive headers to a reader that is not KafkaJS (kcat)', async () => {
    const { stdout } = await promisify(execFile)(kcat, [
      '-b',
      testBrokers()[0]!,
      '-C',
      '-t',
      topic,
      '-o',
      'beginning',
      '-e',
      '-q',
      '-f',
      '%h\n',
    ]);
    const redriven = stdout.split('\n').filter((line) => line.includes('dlq.redriven.from='));
    expect(redriven).toHaveLength(3);
    for (const line of redriven) {
      expect(line).toMatch(new RegExp(`dlq\\.redriven\\.from=${dlq.replaceAll('.', '\\.')}/\\d+/\\d+`));
      expect(line).toMatch(/dlq\.redriven\.at=\d{4}-\d{2}-\d{2}T/);
      expect(line).toContain(`dlq.redriven.attempts=${MAX_ATTEMPTS}`);
      expect(line).toMatch(/ce_id=order-\d/);
      expect(line).not.toContain('dlq.error.message=');
    }
  });

  it('writes to another topic only with --to, and refuses a target topic that does not exist', async () => {
    const missing = await runDlq('redrive', '--id', 'audit-1', '--yes', '--to', uniqueName('no-such-topic'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^dlq: target topic no-such-topic-\w+ does not exist: nothing was sent\n$/);

    const quarantine = uniqueName('quarantine');
    await withAdmin((admin) =>
      admin.createTopics({ topics: [{ topic: quarantine, numPartitions: 1 }], waitForLeaders: true }),
    );
    const before = await topicRecordCount(topic);
    const moved = await runDlq('redrive', '--id', 'audit-1', '--yes', '--to', quarantine);
    expect(moved.code).toBe(0);
    const [record] = await readTopic(quarantine);
    expect(record?.headers).toMatchObject({ ce_id: 'audit-1', 'dlq.redriven.from': expect.stringMatching(`^${dlq}/`) });
    // Not to its original topic as well.
    expect(await topicRecordCount(topic)).toBe(before);
  });

  it('sends each selected event exactly once in total when a redrive is killed halfway and run again', async () => {
    writeFileSync(brokenFile, '');
    const bulk = Array.from({ length: 20 }, (_, index) => ({ id: `bulk-${index}`, type: 'bulk.imported' }));
    await postEvents(bulk);
    await waitFor('25 dead letters', async () => (await topicRecordCount(dlq)) === 25, { timeoutMs: 90_000 });
    rmSync(brokenFile);
    const bulkRedriven = async (): Promise<string[]> =>
      (await redrivenRecords())
        .filter((record) => record.headers.ce_type === 'bulk.imported')
        .map((record) => record.headers.ce_id!);

    const first = startDlq(['redrive', '--type', 'bulk.imported', '--yes', '--rate', '4']);
    await waitFor('some of the bulk redriven', async () => (await bulkRedriven()).length >= 5, { timeoutMs: 60_000 });
    first.child.kill('SIGKILL');
    expect((await first.done).code).toBe('SIGKILL');
    const sentBeforeKill = (await bulkRedriven()).length;
    expect(sentBeforeKill).toBeLessThan(20);

    const second = await runDlq('redrive', '--type', 'bulk.imported', '--yes');
    expect(second.code).toBe(0);
    const ids = await bulkRedriven();
    expect(ids).toHaveLength(20);
    expect(new Set(ids)).toEqual(new Set(bulk.map(({ id }) => id)));
    await waitFor('every bulk event processed', () => bulk.every(({ id }) => processed().includes(id)), {
      timeoutMs: 60_000,
    });
    expect(
      processed()
        .filter((id) => id.startsWith('bulk-'))
        .sort(),
    ).toEqual(bulk.map(({ id }) => id).sort());

    const third = await runDlq('redrive', '--type', 'bulk.imported', '--yes');
    expect(third.stdout).toContain('nothing to send: all 20 matching dead letter(s)');
    expect(await bulkRedriven()).toHaveLength(20);
  });

  it('finds, after a crash between a send and its commit, the event already written and does not send it again', async () => {
    // The state a redrive leaves when killed right after Kafka acknowledged its send: the note
    // committed before the send, the redriven record written, the offset after it not committed.
    const [deadLetter] = (await readTopic(dlq)).filter((record) => record.headers.ce_id === 'audit-2');
    const selector = { ...EMPTY_SELECTOR, ids: ['audit-2'] };
    const groupId = redriveGroupId(dlq, selector, undefined);
    const highs = await withAdmin((admin) => admin.fetchTopicOffsets(topic));
    const note = encodePendingSend({
      end: BigInt(deadLetter!.offset) + 1n,
      targets: { [topic]: Object.fromEntries(highs.map(({ partition, high }) => [String(partition), high])) },
    });
    const kafka = testKafka();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        {
          key: deadLetter!.key,
          value: deadLetter!.value,
          headers: {
            ...Object.fromEntries(Object.entries(deadLetter!.headers).filter(([name]) => !name.startsWith('dlq.'))),
            'dlq.redriven.from': `${dlq}/${deadLetter!.partition}/${deadLetter!.offset}`,
            'dlq.redriven.at': new Date().toISOString(),
          },
        },
      ],
    });
    await producer.disconnect();
    const member = kafka.consumer({ groupId });
    await member.connect();
    await member.subscribe({ topics: [dlq], fromBeginning: true });
    const joined = new Promise((resolve) => member.on(member.events.GROUP_JOIN, resolve));
    await member.run({ autoCommit: false, eachBatch: async () => undefined });
    await joined;
    await member.commitOffsets([
      { topic: dlq, partition: deadLetter!.partition, offset: String(deadLetter!.offset), metadata: note },
    ]);
    await member.disconnect();

    const resumed = await runDlq('redrive', '--id', 'audit-2', '--yes');
    expect(resumed.stderr).toBe('');
    expect(resumed.stdout).toContain('0 sent, 1 already sent by an interrupted run, 0 failed');
    const copies = (await redrivenRecords()).filter((record) => record.headers.ce_id === 'audit-2');
    expect(copies).toHaveLength(1);
    const again = await runDlq('redrive', '--id', 'audit-2', '--yes');
    expect(again.stdout).toContain('nothing to send: all 1 matching dead letter(s)');
  });

  // Issue 29: `--to` could name the dead-letter topic or one of Kafka's own, a dead letter's own
  // dlq.original.topic header chose where it went back to, and a header without a value (null)
  // broke `dlq list` and `dlq show`.
  it('refuses the dead-letter topic and internal topics as targets, follows no header elsewhere, and reads a header without a value', async () => {
    // KafkaJS cannot write a header without a value; kcat can (`-H name`), as other producers may.
    // It exits once the broker has acknowledged the record.
    await new Promise<void>((resolve, reject) => {
      const child = execFile(
        kcat,
        [
          '-b',
          testBrokers()[0]!,
          '-P',
          '-t',
          dlq,
          '-k',
          'crafted-1',
          ...['ce_specversion=1.0', 'ce_id=crafted-1', 'ce_source=/shop', 'ce_type=order.placed']
            .concat(['content-type=application/json', 'dlq.error.name=Error', 'dlq.error.message=crafted'])
            .concat(['dlq.original.topic=__consumer_offsets', 'x-empty'])
            .flatMap((header) => ['-H', header]),
        ],
        (error) => (error ? reject(error) : resolve()),
      );
      child.stdin!.end('{"n":1}\n');
    });

    const listed = await runDlq('list', '--id', 'crafted-1');
    expect({ code: listed.code, stderr: listed.stderr }).toEqual({ code: 0, stderr: '' });
    expect(listed.stdout).toContain('order.placed');
    const shown = await runDlq('show', '--id', 'crafted-1');
    expect({ code: shown.code, stderr: shown.stderr }).toEqual({ code: 0, stderr: '' });
    expect(shown.stdout).toContain('crafted-1');

    const before = await topicRecordCount(topic);
    const followed = await runDlq('redrive', '--id', 'crafted-1', '--yes');
    expect(followed.code).toBe(1);
    expect(followed.stderr).toMatch(/came from a topic other than the events topic/);
    for (const [target, reason] of [
      [dlq, /is the dead-letter topic itself; nothing was sent/],
      ['__consumer_offsets', /is an internal topic of Kafka's; nothing was sent/],
      ['kafkasql-journal', /is a schema registry's journal; nothing was sent/],
    ] as const) {
      const refused = await runDlq('redrive', '--id', 'audit-1', '--yes', '--to', target);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(reason);
    }
    expect(await topicRecordCount(topic)).toBe(before);
  });

  it('prints what another writer put in a dead letter with its control characters escaped, in list and show', async () => {
    // Not through the producer, which refuses such attributes: any writer of the topic could.
    const producer = testKafka().producer();
    await producer.connect();
    await producer.send({
      topic: dlq,
      messages: [
        {
          key: 'k',
          value: Buffer.from('{}'),
          headers: {
            ce_specversion: '1.0',
            ce_id: 'hostile-1',
            ce_source: '/x\u001b]0;owned\u0007',
            ce_type: 'evil\u001b[2J\u009b31m',
            'content-type': 'application/json',
            'dlq.error.name': 'Error',
            'dlq.error.message': 'fine\rforged line',
            'dlq.attempts': '1',
            'dlq.original.topic': topic,
            'dlq.failed.at': new Date().toISOString(),
          },
        },
      ],
    });
    await producer.disconnect();
    const shown = await runDlq('show', '--id', 'hostile-1');
    expect(shown.code).toBe(0);
    const listed = await runDlq('list', '--id', 'hostile-1');
    expect(listed.code).toBe(0);
    const json = await runDlq('show', '--id', 'hostile-1', '--json');
    const controls = (output: string) =>
      [...output].filter((character) => {
        const code = character.codePointAt(0)!;
        return (code < 0x20 && code !== 0x0a) || (code >= 0x7f && code <= 0x9f);
      });
    for (const output of [shown.stdout, listed.stdout, json.stdout]) expect(controls(output)).toEqual([]);
    expect(shown.stdout).toContain('evil\\u001b[2J\\u009b31m');
    expect(shown.stdout).toContain('fine\\u000dforged line');
    expect(listed.stdout).toContain('evil\\u001b[2J\\u009b31m');
    const [deadLetter] = JSON.parse(json.stdout) as Array<{ event: { type: string; source: string } }>;
    expect(deadLetter!.event).toMatchObject({ type: 'evil\u001b[2J\u009b31m', source: '/x\u001b]0;owned\u0007' });
  });
});
