import { ConfigResourceTypes, type Kafka } from 'kafkajs';
import { ConfigError, createKafkaClient, createLogger, errorMessage, type Logger } from '@event-pipeline/common';
import { parseCommand, USAGE, UsageError, type Command } from './args';
import { loadDlqConfig, type DlqConfig } from './config';
import { readDeadLetter, type DeadLetter } from './dead-letter';
import { NothingMatchedError, redrive, RedriveRefusedError, type RedriveReport } from './redrive';
import { createRedriveMetrics } from './redrive-metrics';
import { createMatcher, describeSelector, isEmptySelector, type Selector } from './selector';
import { createSummary, deadLetterDetails, renderDeadLetter, renderSummary } from './summary';
import { readWholeTopic, TopicMissingError } from './topic-reader';

/** Exit codes, as `dlq --help` lists them. */
export const EXIT = { ok: 0, failed: 1, usage: 2, nothingMatched: 3 } as const;

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Progress lines go to stderr only on a terminal. */
  progress: ((text: string) => void) | undefined;
}

async function readSelected(
  kafka: Kafka,
  topic: string,
  selector: Selector,
  onMatch: (deadLetter: DeadLetter) => void,
): Promise<void> {
  const matches = createMatcher(selector);
  await readWholeTopic(
    kafka,
    topic,
    (partition, messages) => {
      for (const message of messages) {
        const deadLetter = readDeadLetter(topic, partition, message);
        if (matches(deadLetter)) onMatch(deadLetter);
      }
    },
    { groupPrefix: 'dlq-read' },
  );
}

async function retentionOf(kafka: Kafka, topic: string): Promise<string | undefined> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const { resources } = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }],
      includeSynonyms: false,
    });
    return resources[0]?.configEntries.find((entry) => entry.configName === 'retention.ms')?.configValue;
  } catch {
    return undefined;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

function describeRetention(ms: string | undefined): string {
  if (ms === undefined) return 'retention unknown';
  if (Number(ms) < 0) return 'retention.ms=-1: kept until deleted by hand';
  return `retention.ms=${ms}: Kafka deletes a dead letter after about ${(Number(ms) / 86_400_000).toFixed(1)} days`;
}

function noMatch(topic: string, selector: Selector): NothingMatchedError {
  return new NothingMatchedError(`no dead letter in ${topic} matches ${describeSelector(selector)}`);
}

async function list(kafka: Kafka, config: DlqConfig, command: Extract<Command, { name: 'list' }>, io: Io) {
  const summary = createSummary(config.DLQ_TOPIC);
  await readSelected(kafka, config.DLQ_TOPIC, command.selector, (deadLetter) => summary.add(deadLetter));
  const result = summary.result();
  if (result.total === 0 && !isEmptySelector(command.selector)) throw noMatch(config.DLQ_TOPIC, command.selector);
  const retention = await retentionOf(kafka, config.DLQ_TOPIC);
  if (command.json) {
    io.out(JSON.stringify({ ...result, retention_ms: retention === undefined ? null : Number(retention) }, null, 2));
  } else if (result.total === 0) {
    io.out(`no dead letters in ${config.DLQ_TOPIC} (${describeRetention(retention)})`);
  } else {
    io.out(renderSummary(result, isEmptySelector(command.selector) ? 'all' : describeSelector(command.selector)));
    io.out(describeRetention(retention));
  }
}

async function show(kafka: Kafka, config: DlqConfig, command: Extract<Command, { name: 'show' }>, io: Io) {
  const shown: DeadLetter[] = [];
  let total = 0;
  await readSelected(kafka, config.DLQ_TOPIC, command.selector, (deadLetter) => {
    total += 1;
    if (shown.length < command.limit) shown.push(deadLetter);
  });
  if (total === 0) {
    if (!isEmptySelector(command.selector)) throw noMatch(config.DLQ_TOPIC, command.selector);
    io.out(`no dead letters in ${config.DLQ_TOPIC}`);
    return;
  }
  if (command.json) {
    io.out(JSON.stringify(shown.map(deadLetterDetails), null, 2));
    return;
  }
  io.out(shown.map(renderDeadLetter).join('\n'));
  if (total > shown.length) io.out(`… ${total - shown.length} more (--limit ${command.limit}); narrow the selector`);
}

const DRY_RUN_LINES = 100;

function renderRedrive(report: RedriveReport, command: Extract<Command, { name: 'redrive' }>): string {
  const lines: string[] = [];
  const earlier = report.alreadyRedriven > 0 ? `, ${report.alreadyRedriven} redriven by an earlier run` : '';
  if (report.dryRun) {
    lines.push(
      `dry run: would redrive ${report.planned.length} of ${report.matched} matching dead letter(s) in ${report.dlqTopic}${earlier}`,
    );
    for (const event of report.planned.slice(0, DRY_RUN_LINES)) {
      lines.push(
        `  ${event.position}  id=${event.id ?? '?'}  type=${event.type ?? '?'}  error="${event.error.slice(0, 60)}"  -> ${event.target}`,
      );
    }
    if (report.planned.length > DRY_RUN_LINES) lines.push(`  … and ${report.planned.length - DRY_RUN_LINES} more`);
    if (report.planned.length > 0) lines.push('nothing was sent; to send them, run it again with --yes');
    else lines.push('nothing left to send');
    return lines.join('\n');
  }
  if (report.planned.length === 0) {
    return `nothing to send: all ${report.matched} matching dead letter(s) in ${report.dlqTopic} were redriven by an earlier run (progress: consumer group ${report.groupId})`;
  }
  const targets = [...new Set(report.planned.map((event) => event.target))].join(', ');
  lines.push(
    `redrove ${report.sent + report.alreadySent} of ${report.planned.length} selected dead letter(s) from ${report.dlqTopic} to ${targets}: ` +
      `${report.sent} sent, ${report.alreadySent} already sent by an interrupted run, ${report.failed} failed`,
  );
  const left = report.matched - report.alreadyRedriven - report.planned.length;
  if (left > 0) lines.push(`${left} more match: run the same command again to send them (--limit ${command.limit})`);
  lines.push(`progress: consumer group ${report.groupId}; dead letters stay in ${report.dlqTopic} until retention`);
  return lines.join('\n');
}

async function redriveCommand(
  kafka: Kafka,
  config: DlqConfig,
  command: Extract<Command, { name: 'redrive' }>,
  io: Io,
  logger: Logger,
): Promise<number> {
  const metrics = createRedriveMetrics(config.PUSHGATEWAY_URL, config.DLQ_TOPIC);
  const push = async (finished?: { ok: boolean }): Promise<void> => {
    try {
      await metrics.push(finished);
    } catch (error) {
      io.err(`dlq: could not push metrics to ${config.PUSHGATEWAY_URL}: ${errorMessage(error)}`);
    }
  };
  const started = Date.now();
  let lastPush = started;
  let report: RedriveReport | undefined;
  try {
    report = await redrive({
      kafka,
      dlqTopic: config.DLQ_TOPIC,
      eventsTopic: config.EVENTS_TOPIC,
      selector: command.selector,
      to: command.to,
      send: command.send,
      rate: command.rate,
      limit: command.limit,
      sendTimeoutMs: config.DEAD_LETTER_TIMEOUT_MS,
      logger,
      onOutcome: (outcome, count) => metrics.count(outcome, count),
      onProgress: (done, total) => {
        const seconds = (Date.now() - started) / 1000;
        io.progress?.(`\rredriving: ${done}/${total} (${(done / Math.max(seconds, 0.001)).toFixed(1)}/s)   `);
        if (Date.now() - lastPush > 10_000) {
          lastPush = Date.now();
          void push();
        }
      },
    });
  } catch (error) {
    if (command.send && !(error instanceof NothingMatchedError) && !(error instanceof RedriveRefusedError)) {
      await push({ ok: false });
    }
    throw error;
  } finally {
    io.progress?.('\n');
  }
  // A run that had nothing left to send leaves the last real run's numbers in place.
  if (!report.dryRun && report.planned.length > 0) await push({ ok: report.failed === 0 });
  io.out(
    command.json
      ? JSON.stringify(report, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value), 2)
      : renderRedrive(report, command),
  );
  return EXIT.ok;
}

/** Runs one command; resolves with the exit code. */
export async function runDlq(argv: string[], env: Record<string, string | undefined>, io: Io): Promise<number> {
  let command: Command;
  let config: DlqConfig;
  try {
    command = parseCommand(argv);
    if (command.name === 'help') {
      io.out(USAGE);
      return EXIT.ok;
    }
    config = loadDlqConfig(env);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      io.err(`dlq: ${error.message}`);
      return EXIT.usage;
    }
    throw error;
  }
  // Quiet unless asked: the output is the command's, KafkaJS' chatter goes to stderr.
  const logger = createLogger({
    service: 'dlq',
    level: env.LOG_LEVEL === undefined || env.LOG_LEVEL === '' ? 'warn' : config.LOG_LEVEL,
    destination: process.stderr,
  });
  const kafka = createKafkaClient(config, 'dlq', logger);
  try {
    if (command.name === 'list') await list(kafka, config, command, io);
    else if (command.name === 'show') await show(kafka, config, command, io);
    else return await redriveCommand(kafka, config, command, io, logger);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof NothingMatchedError) {
      io.err(`dlq: ${error.message}`);
      return EXIT.nothingMatched;
    }
    if (error instanceof TopicMissingError) {
      io.err(`dlq: ${error.message} (DLQ_TOPIC=${config.DLQ_TOPIC}, KAFKA_BROKERS=${config.KAFKA_BROKERS.join(',')})`);
      return EXIT.failed;
    }
    io.err(`dlq: ${error instanceof RedriveRefusedError ? '' : 'failed: '}${errorMessage(error)}`);
    return EXIT.failed;
  }
}
