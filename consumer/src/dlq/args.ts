import { parseArgs } from 'node:util';
import { PipelineError } from '@event-pipeline/common';
import { errorPattern, isEmptySelector, type Selector } from './selector';

/** Bad arguments: the message is one line, the command exits with 2. */
export class UsageError extends PipelineError {
  readonly retriable = false;
}

export type Command =
  | { name: 'help' }
  | { name: 'list'; selector: Selector; json: boolean }
  | { name: 'show'; selector: Selector; json: boolean; limit: number }
  | {
      name: 'redrive';
      selector: Selector;
      json: boolean;
      /** Where every selected event goes instead of its original topic. */
      to: string | undefined;
      /** Sends only with --yes; prints the plan otherwise. */
      send: boolean;
      /** Events a second, if bounded. */
      rate: number | undefined;
      /** Most events this run sends; the rest stay for the next run. */
      limit: number | undefined;
    };

export const USAGE = `usage: dlq <command> [options]

Inspect and redrive the dead letters of DLQ_TOPIC (configured like the consumer: KAFKA_BROKERS,
KAFKA_SASL_*, KAFKA_SSL_*, DLQ_TOPIC, ...).

commands:
  list      what is dead-lettered: counts by event type, error, original partition; oldest, newest
  show      the selected dead letters in full: attributes, data, every dlq.* header, the trace id
  redrive   sends the selected events back to their original topic (prints the plan unless --yes)

selector (every option given must hold; a repeated option matches any of its values):
  --id ID               CloudEvent id
  --type TYPE           CloudEvent type
  --error TEXT          "<error name>: <message>" contains TEXT (any case), or matches /regex/flags
  --since TIME          dead-lettered at or after TIME (ISO 8601; list and show also take 30m, 2h, 7d: ago)
  --until TIME          dead-lettered before TIME
  --offset P:O          the dead letter at partition P, offset O of the dead-letter topic
  --all                 every dead letter (redrive needs a selector or --all)

options:
  --json                machine-readable output
  --limit N             show: at most N dead letters (default 20); redrive: send at most N this run
  --yes                 redrive: send (without it, a dry run: nothing is sent)
  --dry-run             redrive: print what would be sent, send nothing (the default)
  --rate N              redrive: at most N events a second
  --to TOPIC            redrive: send to TOPIC instead of each event's original topic
  -h, --help            this text

exit codes: 0 done, 1 failed, 2 bad arguments, 3 the selector matched no dead letter`;

const OPTIONS = {
  id: { type: 'string', multiple: true },
  type: { type: 'string', multiple: true },
  error: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  offset: { type: 'string', multiple: true },
  all: { type: 'boolean' },
  json: { type: 'boolean' },
  limit: { type: 'string' },
  yes: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  rate: { type: 'string' },
  to: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const ONLY_FOR: Record<string, Array<Command['name']>> = {
  yes: ['redrive'],
  'dry-run': ['redrive'],
  rate: ['redrive'],
  to: ['redrive'],
  limit: ['show', 'redrive'],
};

const DURATION = /^(\d+)(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** An ISO 8601 time, or (where `relative` allows) a duration ago such as `2h`. */
export function parseTime(option: string, text: string, now: Date, relative: boolean): Date {
  const duration = DURATION.exec(text);
  if (duration) {
    if (!relative) {
      throw new UsageError(
        `--${option} ${text}: redrive takes an absolute time (ISO 8601), so that running it again selects the same dead letters`,
      );
    }
    return new Date(now.getTime() - Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS]);
  }
  const time = /^\d{4}-\d{2}-\d{2}/.test(text) ? new Date(text) : new Date(Number.NaN);
  if (Number.isNaN(time.getTime())) {
    throw new UsageError(
      `--${option} ${text}: not a time; give ISO 8601 (2026-12-03T10:00:00Z)${relative ? ' or a duration ago (30m, 2h, 7d)' : ''}`,
    );
  }
  return time;
}

function positiveInteger(option: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`--${option} ${text}: must be a whole number from 1`);
  }
  return Number(text);
}

function positiveNumber(option: string, text: string): number {
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(value > 0)) {
    throw new UsageError(`--${option} ${text}: must be a number of events a second above 0`);
  }
  return value;
}

function parseOffset(text: string): { partition: number; offset: string } {
  const match = /^(\d+):(\d+)$/.exec(text);
  if (!match) throw new UsageError(`--offset ${text}: must be partition:offset, e.g. 0:42`);
  return { partition: Number(match[1]), offset: String(BigInt(match[2]!)) };
}

/** The command line (without `node` and the script) as a command; throws UsageError. */
export function parseCommand(argv: string[], now = new Date()): Command {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message;
    const unknown = /^Unknown option '([^']+)'/.exec(message);
    throw new UsageError(unknown ? `unknown option ${unknown[1]} (dlq --help)` : message.split('\n')[0]!);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals[0] === 'help') return { name: 'help' };
  const [name, ...extra] = positionals;
  if (name === undefined) throw new UsageError('a command is required: list, show or redrive (dlq --help)');
  if (name !== 'list' && name !== 'show' && name !== 'redrive') {
    throw new UsageError(`unknown command "${name}": use list, show or redrive (dlq --help)`);
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}" (options start with --)`);
  for (const [option, commands] of Object.entries(ONLY_FOR)) {
    if (values[option as keyof typeof values] !== undefined && !commands.includes(name)) {
      throw new UsageError(`--${option} is an option of ${commands.join(' and ')}, not of ${name}`);
    }
  }

  const relative = name !== 'redrive';
  const selector: Selector = {
    ids: values.id ?? [],
    types: values.type ?? [],
    error: values.error,
    since: values.since === undefined ? undefined : parseTime('since', values.since, now, relative),
    until: values.until === undefined ? undefined : parseTime('until', values.until, now, relative),
    offsets: (values.offset ?? []).map(parseOffset),
  };
  if (selector.error !== undefined) {
    if (selector.error === '') throw new UsageError('--error must not be empty');
    try {
      errorPattern(selector.error);
    } catch (error) {
      throw new UsageError(`--error ${selector.error}: ${(error as Error).message}`);
    }
  }
  if (selector.since && selector.until && selector.since >= selector.until) {
    throw new UsageError('--since must be before --until');
  }
  if (values.all && !isEmptySelector(selector))
    throw new UsageError('--all selects everything: give no other selector');
  const json = values.json ?? false;

  if (name === 'list') return { name, selector, json };
  if (name === 'show') {
    return { name, selector, json, limit: values.limit === undefined ? 20 : positiveInteger('limit', values.limit) };
  }
  if (isEmptySelector(selector) && !values.all) {
    throw new UsageError('redrive needs a selector (--id, --type, --error, --since, --until, --offset) or --all');
  }
  if (values.yes && values['dry-run']) throw new UsageError('--yes and --dry-run contradict each other: give one');
  if (values.to !== undefined && !/^[a-zA-Z0-9._-]{1,249}$/.test(values.to)) {
    throw new UsageError(`--to ${values.to}: not a Kafka topic name`);
  }
  return {
    name,
    selector,
    json,
    to: values.to,
    send: values.yes ?? false,
    rate: values.rate === undefined ? undefined : positiveNumber('rate', values.rate),
    limit: values.limit === undefined ? undefined : positiveInteger('limit', values.limit),
  };
}
