import { createHash } from 'node:crypto';
import { context, propagation, ROOT_CONTEXT, SpanKind, trace, type Span } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { RateLimiter } from 'limiter';
import {
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  createReliableProducer,
  KAFKA_RETRIES,
  PipelineError,
  recordFailure,
  withTimeout,
  type Logger,
  type ReliableProducer,
  kafkaSendAttributes,
} from '@event-pipeline/common';
import { REDRIVE_HEADERS } from '../dead-letter-headers';
import { positionOf, readDeadLetter, type DeadLetter } from './dead-letter';
import { RedriveLedger } from './redrive-ledger';
import { decodePendingSend, redrivenRecord, type PendingSend } from './redrive-record';
import { canonicalSelector, createMatcher, describeSelector, type Selector } from './selector';
import { readRanges, TopicMissingError, topicOffsets } from './topic-reader';

const tracer = trace.getTracer('@event-pipeline/consumer/dlq');

/** The selector matched no dead letter at all (exit code 3). */
export class NothingMatchedError extends PipelineError {
  readonly retriable = false;
}

/** The redrive cannot be done as asked; nothing was sent (exit code 1). */
export class RedriveRefusedError extends PipelineError {
  readonly retriable = false;
}

export type RedriveOutcome = 'sent' | 'already_sent' | 'failed';
export const REDRIVE_OUTCOMES: readonly RedriveOutcome[] = ['sent', 'already_sent', 'failed'];

export interface RedriveOptions {
  kafka: Kafka;
  dlqTopic: string;
  /** Where events go back to unless `to` names another topic. */
  eventsTopic: string;
  selector: Selector;
  /** Every event goes there instead of the events topic. */
  to: string | undefined;
  /** False: plan only (a dry run). */
  send: boolean;
  /** Events a second. */
  rate: number | undefined;
  /** Most events sent by this run. */
  limit: number | undefined;
  /** A send not acknowledged by then fails the run (DEAD_LETTER_TIMEOUT_MS). */
  sendTimeoutMs: number;
  logger: Logger;
  /** After each acknowledged send, and for events found already sent. */
  onOutcome?: (outcome: RedriveOutcome, count: number) => void;
  onProgress?: (done: number, total: number) => void;
  now?: () => Date;
}

export interface PlannedEvent {
  position: string;
  partition: number;
  offset: bigint;
  id: string | undefined;
  type: string | undefined;
  error: string;
  failedAt: Date;
  target: string;
}

export interface RedriveReport {
  dlqTopic: string;
  /** The consumer group whose committed offsets record this redrive's progress. */
  groupId: string;
  selection: string;
  /** Dead letters the selector matched, redriven before or not. */
  matched: number;
  /** Of those, already redriven by an earlier run of the same redrive. */
  alreadyRedriven: number;
  /** What this run sends (or would send). */
  planned: PlannedEvent[];
  dryRun: boolean;
  sent: number;
  /** Found written by an earlier run that was interrupted before it recorded them. */
  alreadySent: number;
  failed: number;
}

/**
 * The consumer group that records a redrive's progress: one per dead-letter topic, selection
 * and target, so the same redrive run again continues where the last one stopped.
 */
export function redriveGroupId(dlqTopic: string, selector: Selector, to: string | undefined): string {
  const digest = createHash('sha256')
    .update(`${canonicalSelector(selector)}\n${to ?? ''}`)
    .digest('hex')
    .slice(0, 16);
  return `dlq-redrive.${dlqTopic}.${digest}`;
}

interface PartitionProgress {
  committed: bigint | undefined;
  pending: PendingSend | undefined;
}

async function withAdmin<T>(kafka: Kafka, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

async function readProgress(kafka: Kafka, groupId: string, topic: string): Promise<Map<number, PartitionProgress>> {
  const [offsets] = await withAdmin(kafka, (admin) => admin.fetchOffsets({ groupId, topics: [topic] }));
  return new Map(
    (offsets?.partitions ?? []).map(({ partition, offset, metadata }) => [
      partition,
      { committed: Number(offset) >= 0 ? BigInt(offset) : undefined, pending: decodePendingSend(metadata) },
    ]),
  );
}

/**
 * The first `limit` events by the time they were dead-lettered, taken so that each partition's
 * share is a prefix of it: the committed offset can then say "everything before is done".
 */
function takeOldest(byPartition: Map<number, PlannedEvent[]>, limit: number | undefined): PlannedEvent[] {
  const queues = [...byPartition.values()].map((events) => [...events]);
  const taken: PlannedEvent[] = [];
  while (limit === undefined || taken.length < limit) {
    let best: PlannedEvent[] | undefined;
    for (const queue of queues) {
      if (queue.length > 0 && (!best || queue[0]!.failedAt < best[0]!.failedAt)) best = queue;
    }
    if (!best) break;
    taken.push(best.shift()!);
  }
  return taken;
}

/**
 * Sends selected dead letters back to their original topic (or `to`), through the reliable
 * producer, each exactly once over any number of runs of the same redrive, interrupted or not:
 * - progress is the redrive's own consumer group's committed offsets on the dead-letter topic,
 *   committed only after Kafka acknowledged everything before them;
 * - before a send, the offset is committed again with a note of where each target partition
 *   ended; a run that finds such a note reads the target from there and skips the dead letters
 *   already written (by `dlq.redriven.from`), so a crash between a send and its commit sends
 *   nothing twice.
 * It reads the dead-letter topic up to its end at the start; later dead letters wait for the
 * next run. It never deletes or changes a dead letter.
 */
/**
 * Why `topic` may not be a redrive's target, or undefined when it may: never the dead-letter
 * topic itself (each redrive would feed the next), nor a topic of Kafka's own (`__*`: offsets,
 * transactions) or a schema registry's journal, whose records are state, not events.
 */
export function refusedTarget(topic: string, dlqTopic: string): string | undefined {
  if (topic === dlqTopic) return `${topic} is the dead-letter topic itself`;
  if (topic.startsWith('__')) return `${topic} is an internal topic of Kafka's`;
  if (REGISTRY_JOURNALS.includes(topic)) return `${topic} is a schema registry's journal`;
  return undefined;
}

/** Where schema registries keep their state in Kafka: Apicurio's KafkaSQL storage, Confluent's. */
const REGISTRY_JOURNALS = ['kafkasql-journal', '_schemas'];

export async function redrive(options: RedriveOptions): Promise<RedriveReport> {
  const { kafka, dlqTopic, eventsTopic, selector, to } = options;
  const forbidden = to === undefined ? undefined : refusedTarget(to, dlqTopic);
  if (forbidden) throw new RedriveRefusedError(`--to ${to}: ${forbidden}; nothing was sent`);
  const now = options.now ?? (() => new Date());
  const groupId = redriveGroupId(dlqTopic, selector, to);
  const report: RedriveReport = {
    dlqTopic,
    groupId,
    selection: describeSelector(selector),
    matched: 0,
    alreadyRedriven: 0,
    planned: [],
    dryRun: !options.send,
    sent: 0,
    alreadySent: 0,
    failed: 0,
  };

  // The plan: what the selector matches, up to the end of each partition now.
  const offsets = await topicOffsets(kafka, dlqTopic);
  const progress = await readProgress(kafka, groupId, dlqTopic);
  const matches = createMatcher(selector);
  const candidates = new Map<number, PlannedEvent[]>();
  const refused: string[] = [];
  await readRanges(
    kafka,
    dlqTopic,
    offsets.map(({ partition, low, high }) => ({ partition, from: low, to: high })),
    (partition, messages) => {
      for (const message of messages) {
        const deadLetter = readDeadLetter(dlqTopic, partition, message);
        if (!matches(deadLetter)) continue;
        report.matched += 1;
        const committed = progress.get(partition)?.committed;
        if (committed !== undefined && BigInt(message.offset) < committed) {
          report.alreadyRedriven += 1;
          continue;
        }
        const target = to ?? eventsTopic;
        // A dead letter's headers are data like any other: one that names another topic is not
        // followed there without --to saying so.
        if (to === undefined && deadLetter.original.topic !== undefined && deadLetter.original.topic !== eventsTopic) {
          refused.push(positionOf(deadLetter));
          continue;
        }
        const events = candidates.get(partition) ?? [];
        candidates.set(partition, events);
        events.push({
          position: positionOf(deadLetter),
          partition,
          offset: BigInt(message.offset),
          id: deadLetter.event?.id,
          type: deadLetter.event?.type,
          error: `${deadLetter.error.name}: ${deadLetter.error.message}`,
          failedAt: deadLetter.failedAt,
          target,
        });
      }
    },
    { groupPrefix: 'dlq-read' },
  );
  if (report.matched === 0) {
    throw new NothingMatchedError(`no dead letter in ${dlqTopic} matches ${report.selection}`);
  }
  if (refused.length > 0) {
    throw new RedriveRefusedError(
      `${refused.length} selected dead letter(s) (${refused.slice(0, 3).join(', ')}${refused.length > 3 ? ', …' : ''}) came from a topic other than the events topic ${eventsTopic} (their dlq.original.topic header): give --to TOPIC, or narrow the selector`,
    );
  }
  report.planned = takeOldest(candidates, options.limit);
  const targets = [...new Set(report.planned.map((event) => event.target))];
  const existing = new Set(await withAdmin(kafka, (admin) => admin.listTopics()));
  const missing = targets.filter((target) => !existing.has(target));
  if (missing.length > 0) {
    throw new RedriveRefusedError(`target topic ${missing.join(', ')} does not exist: nothing was sent`);
  }
  if (!options.send || report.planned.length === 0) return report;

  await sendPlanned(options, report, progress, now);
  return report;
}

/** What sending a chunk needs, set up once per run. */
interface ChunkSending {
  options: RedriveOptions;
  report: RedriveReport;
  log: Logger;
  now: () => Date;
  admin: Admin;
  producers: Map<string, ReliableProducer>;
  /** Position of each planned dead letter → its target topic. */
  targetOf: Map<string, string>;
  /** Positions an interrupted run sent but did not record. */
  alreadySent: Set<string>;
  limiter: RateLimiter | undefined;
  ledger: RedriveLedger;
}

async function sendPlanned(
  options: RedriveOptions,
  report: RedriveReport,
  progress: Map<number, PartitionProgress>,
  now: () => Date,
): Promise<void> {
  const { kafka, dlqTopic, logger } = options;
  const log = logger.child({ component: 'redrive', group: report.groupId });
  const targetOf = new Map(report.planned.map((event) => [event.position, event.target]));
  const lows = new Map((await topicOffsets(kafka, dlqTopic)).map(({ partition, low }) => [partition, low]));

  const producers = new Map<string, ReliableProducer>();
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const target of new Set(report.planned.map((event) => event.target))) {
      const producer = createReliableProducer({
        kafka,
        topic: target,
        onUnanswered: ({ partitions, send }) => log.warn({ partitions, send }, 'redrive unacknowledged, sending again'),
      });
      producers.set(target, producer);
      await producer.connect();
      if ((await producer.refreshPartitions()).length === 0) throw new Error(`no partitions of ${target} found`);
    }
    const alreadySent = await findSentAfterCrash(kafka, dlqTopic, progress);
    const limiter = rateLimiter(options.rate);
    const chunkSize = options.rate === undefined ? 100 : Math.max(1, Math.min(100, Math.floor(options.rate / 10)));

    const consumer = kafka.consumer({
      groupId: report.groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 250,
      retry: KAFKA_RETRIES.dlqCommand,
    });
    let settle!: { resolve: () => void; reject: (error: unknown) => void };
    const finished = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) settle.reject(payload.error);
    });
    const ledger = new RedriveLedger(
      report.planned,
      (partition) => progress.get(partition)?.committed ?? lows.get(partition) ?? 0n,
      (partition, offset, metadata) =>
        consumer.commitOffsets([{ topic: dlqTopic, partition, offset: String(offset), metadata }]),
    );
    const sending: ChunkSending = {
      options,
      report,
      log,
      now,
      admin,
      producers,
      targetOf,
      alreadySent,
      limiter,
      ledger,
    };

    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [dlqTopic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, heartbeat }) => {
          if (!ledger.isOpen(batch.partition)) return;
          try {
            for (const chunk of ledger.chunks(batch.partition, batch.messages, chunkSize)) {
              await sendChunk(sending, batch.partition, chunk.messages, chunk.upTo);
              if (!chunk.last) await heartbeat();
            }
            if (ledger.batchDone(batch.partition)) settle.resolve();
          } catch (error) {
            settle.reject(error);
            throw error;
          }
        },
      });
      await finished;
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
    await Promise.all([...producers.values()].map((producer) => producer.disconnect()));
  }
}

/**
 * Sends the chosen dead letters among `messages` (all of one partition), but those an
 * interrupted run sent already, then records progress up to `upTo`.
 */
async function sendChunk(run: ChunkSending, partition: number, messages: KafkaMessage[], upTo: bigint): Promise<void> {
  const { options, report, log, alreadySent, ledger } = run;
  const deadLetters = messages.map((message) => readDeadLetter(options.dlqTopic, partition, message));
  const found = deadLetters.filter((deadLetter) => alreadySent.has(positionOf(deadLetter)));
  if (found.length > 0) {
    report.alreadySent += found.length;
    options.onOutcome?.('already_sent', found.length);
    log.info({ partition, events: found.length }, 'found already sent by an interrupted run');
  }
  const toSend = deadLetters.filter((deadLetter) => !alreadySent.has(positionOf(deadLetter)));
  if (toSend.length > 0) {
    if (run.limiter) await run.limiter.removeTokens(toSend.length);
    const at = run.now();
    const outgoing = toSend.map((deadLetter) => {
      const target = run.targetOf.get(positionOf(deadLetter))!;
      const producer = run.producers.get(target)!;
      const record = redrivenRecord(deadLetter, at);
      return { deadLetter, target, record: { ...record, partition: producer.partitionOf(record) } };
    });
    await ledger.notePending(partition, upTo, await targetEnds(run.admin, outgoing));
    const spans = outgoing.map(({ deadLetter, target, record }) => startRedriveSpan(deadLetter, target, record));
    try {
      for (const target of new Set(outgoing.map((each) => each.target))) {
        const records = outgoing.filter((each) => each.target === target).map((each) => each.record);
        await withTimeout(
          context.with(suppressTracing(context.active()), () => run.producers.get(target)!.send(records)),
          options.sendTimeoutMs,
          () => new Error(`not acknowledged within ${options.sendTimeoutMs} ms`),
        );
      }
    } catch (error) {
      for (const span of spans) {
        recordFailure(span, error);
        span.end();
      }
      report.failed += toSend.length;
      options.onOutcome?.('failed', toSend.length);
      throw error;
    }
    for (const span of spans) span.end();
    report.sent += toSend.length;
    options.onOutcome?.('sent', toSend.length);
  }
  await ledger.acknowledged(partition, upTo);
  options.onProgress?.(report.sent + report.alreadySent, report.planned.length);
}

/** Where each target partition of `outgoing` ends now: a redriven record can only land after that. */
async function targetEnds(
  admin: Admin,
  outgoing: readonly { target: string; record: { partition: number } }[],
): Promise<PendingSend['targets']> {
  const targets: PendingSend['targets'] = {};
  for (const target of new Set(outgoing.map((each) => each.target))) {
    const highs = new Map((await admin.fetchTopicOffsets(target)).map((entry) => [entry.partition, entry.high]));
    targets[target] = Object.fromEntries(
      outgoing
        .filter((each) => each.target === target)
        .map((each) => [String(each.record.partition), highs.get(each.record.partition) ?? '0']),
    );
  }
  return targets;
}

/**
 * The dead letters that an interrupted run sent but did not record: for each partition whose
 * committed offset carries a note, the records written to the noted target partitions since,
 * whose `dlq.redriven.from` names a dead letter from the committed offset up to the note's end.
 */
async function findSentAfterCrash(
  kafka: Kafka,
  dlqTopic: string,
  progress: Map<number, PartitionProgress>,
): Promise<Set<string>> {
  const found = new Set<string>();
  const uncertain = new Map<string, { from: bigint; to: bigint }>();
  const starts = new Map<string, Map<number, bigint>>();
  for (const [partition, { committed, pending }] of progress) {
    if (!pending) continue;
    uncertain.set(`${dlqTopic}/${partition}`, { from: committed ?? 0n, to: pending.end });
    for (const [target, partitions] of Object.entries(pending.targets)) {
      const byPartition = starts.get(target) ?? new Map<number, bigint>();
      starts.set(target, byPartition);
      for (const [targetPartition, high] of Object.entries(partitions)) {
        const from = BigInt(high);
        const known = byPartition.get(Number(targetPartition));
        if (known === undefined || from < known) byPartition.set(Number(targetPartition), from);
      }
    }
  }
  for (const [target, byPartition] of starts) {
    let highs;
    try {
      highs = new Map((await topicOffsets(kafka, target)).map(({ partition, high }) => [partition, high]));
    } catch (error) {
      if (error instanceof TopicMissingError) continue;
      throw error;
    }
    const ranges = [...byPartition].map(([partition, from]) => ({ partition, from, to: highs.get(partition) ?? from }));
    await readRanges(
      kafka,
      target,
      ranges,
      (_partition, messages) => {
        for (const message of messages) {
          const from = message.headers?.[REDRIVE_HEADERS.from]?.toString();
          const match = from === undefined ? null : /^(.+)\/(\d+)$/.exec(from);
          const window = match ? uncertain.get(match[1]!) : undefined;
          if (window && BigInt(match![2]!) >= window.from && BigInt(match![2]!) < window.to) found.add(from!);
        }
      },
      { groupPrefix: 'dlq-read' },
    );
  }
  return found;
}

function rateLimiter(rate: number | undefined): RateLimiter | undefined {
  if (rate === undefined) return undefined;
  // A bucket of one chunk's worth, so a chunk can always be paid for, refilled at `rate`.
  const chunk = Math.max(1, Math.min(100, Math.floor(rate / 10)));
  return new RateLimiter({ tokensPerInterval: chunk, interval: (chunk * 1000) / rate });
}

/**
 * The redrive of one event as a PRODUCER span in the event's own trace: its parent is the
 * context in the dead letter's headers (the dead-letter write, which holds the failed
 * attempts), and its own context goes into the redriven record for the consumer to continue.
 * No-ops without the telemetry bootstrap; the record then keeps the dead letter's traceparent.
 */
function startRedriveSpan(
  deadLetter: DeadLetter,
  target: string,
  record: { headers: Record<string, string | Buffer>; partition: number },
): Span {
  const parent = propagation.extract(ROOT_CONTEXT, deadLetter.headerText);
  const span = tracer.startSpan(`redrive ${target}`, { kind: SpanKind.PRODUCER }, parent);
  if (span.isRecording()) {
    span.setAttributes({
      ...kafkaSendAttributes(target, 'redrive'),
      [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(record.partition),
      ...(deadLetter.event ? { [ATTR_MESSAGING_MESSAGE_ID]: deadLetter.event.id } : {}),
      ...(deadLetter.event ? { 'cloudevents.event_type': deadLetter.event.type } : {}),
      'dlq.redriven.from': positionOf(deadLetter),
      'dlq.error.name': deadLetter.error.name,
    });
  }
  const headers: Record<string, string> = {};
  propagation.inject(trace.setSpan(parent, span), headers);
  Object.assign(record.headers, headers);
  return span;
}
