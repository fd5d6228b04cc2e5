import Table from 'cli-table3';
import { DEAD_LETTER_HEADER_PREFIX } from '../dead-letter-headers';
import { positionOf, totalAttempts, type DeadLetter } from './dead-letter';
import { printable } from './printable';

export interface Count {
  count: number;
  oldest: string;
  newest: string;
}

/** What `dlq list` reports: the selected dead letters counted several ways. */
export interface DeadLetterSummary {
  topic: string;
  total: number;
  oldest: string | undefined;
  newest: string | undefined;
  byType: Array<{ type: string } & Count>;
  byError: Array<{ name: string; message: string } & Count>;
  byOriginalPartition: Array<{ topic: string; partition: number | null } & Count>;
}

/** Counts dead letters as they come, without keeping them. */
export function createSummary(topic: string): {
  add(deadLetter: DeadLetter): void;
  result(): DeadLetterSummary;
} {
  const groups = new Map<string, Map<string, Count & { fields: Record<string, unknown> }>>();
  let total = 0;
  let oldest: Date | undefined;
  let newest: Date | undefined;
  const count = (dimension: string, fields: Record<string, unknown>, at: Date): void => {
    const key = JSON.stringify(fields);
    const group = groups.get(dimension) ?? new Map();
    groups.set(dimension, group);
    const entry = group.get(key);
    const time = at.toISOString();
    if (!entry) group.set(key, { fields, count: 1, oldest: time, newest: time });
    else {
      entry.count += 1;
      if (time < entry.oldest) entry.oldest = time;
      if (time > entry.newest) entry.newest = time;
    }
  };
  const rows = <T>(dimension: string): Array<T & Count> =>
    [...(groups.get(dimension)?.values() ?? [])]
      .sort((a, b) => b.count - a.count || a.oldest.localeCompare(b.oldest))
      .map(({ fields, ...counts }) => ({ ...(fields as T), ...counts }));
  return {
    add(deadLetter) {
      total += 1;
      if (!oldest || deadLetter.failedAt < oldest) oldest = deadLetter.failedAt;
      if (!newest || deadLetter.failedAt > newest) newest = deadLetter.failedAt;
      count('type', { type: deadLetter.event?.type ?? '(unreadable)' }, deadLetter.failedAt);
      count('error', { name: deadLetter.error.name, message: deadLetter.error.message }, deadLetter.failedAt);
      count(
        'partition',
        { topic: deadLetter.original.topic ?? '(unknown)', partition: deadLetter.original.partition ?? null },
        deadLetter.failedAt,
      );
    },
    result: () => ({
      topic,
      total,
      oldest: oldest?.toISOString(),
      newest: newest?.toISOString(),
      byType: rows<{ type: string }>('type'),
      byError: rows<{ name: string; message: string }>('error'),
      byOriginalPartition: rows<{ topic: string; partition: number | null }>('partition'),
    }),
  };
}

const table = (head: string[]): Table.Table =>
  new Table({ head, style: { head: [], border: [] }, wordWrap: true, colWidths: head.map(() => null) });

const shorten = (text: string, length: number): string =>
  text.length > length ? `${text.slice(0, length - 1)}…` : text;

/** `dlq list` for people: a line of totals, then a table per dimension. */
export function renderSummary(summary: DeadLetterSummary, selection: string): string {
  if (summary.total === 0) return `no dead letter in ${summary.topic} matches ${selection}`;
  const byType = table(['event type', 'count', 'oldest', 'newest']);
  for (const row of summary.byType) byType.push([printable(row.type), row.count, row.oldest, row.newest]);
  const byError = table(['error', 'count', 'oldest', 'newest']);
  for (const row of summary.byError) {
    byError.push([shorten(printable(`${row.name}: ${row.message}`), 80), row.count, row.oldest, row.newest]);
  }
  const byPartition = table(['original topic/partition', 'count', 'oldest', 'newest']);
  for (const row of summary.byOriginalPartition) {
    byPartition.push([printable(`${row.topic}/${row.partition ?? '?'}`), row.count, row.oldest, row.newest]);
  }
  return [
    `${summary.total} dead letter(s) in ${summary.topic} (${selection}), dead-lettered from ${summary.oldest} to ${summary.newest}`,
    byType.toString(),
    byError.toString(),
    byPartition.toString(),
  ].join('\n');
}

/** One dead letter in full, as `dlq show --json` prints it. */
export function deadLetterDetails(deadLetter: DeadLetter): Record<string, unknown> {
  const { event } = deadLetter;
  const dlqHeaders = Object.fromEntries(
    Object.entries(deadLetter.headerText).filter(([name]) => name.startsWith(DEAD_LETTER_HEADER_PREFIX)),
  );
  const data = event?.data;
  return {
    position: positionOf(deadLetter),
    key: deadLetter.key?.toString('utf8') ?? null,
    event: event
      ? {
          ...event,
          data: Buffer.isBuffer(data) ? { base64: data.toString('base64') } : data,
        }
      : null,
    ...(deadLetter.unreadable ? { unreadable: deadLetter.unreadable, value: deadLetter.value?.toString('utf8') } : {}),
    error: deadLetter.error,
    attempts: deadLetter.attempts ?? null,
    total_attempts: totalAttempts(deadLetter),
    failed_at: deadLetter.failedAt.toISOString(),
    original: deadLetter.original,
    trace_id: deadLetter.traceId ?? null,
    dlq_headers: dlqHeaders,
  };
}

/** `dlq show` for people: one block per dead letter. */
export function renderDeadLetter(deadLetter: DeadLetter): string {
  const details = deadLetterDetails(deadLetter);
  const lines = [`── ${details.position}`];
  const field = (name: string, value: unknown): void => {
    if (value !== undefined && value !== null) {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      lines.push(`  ${printable(name).padEnd(24)} ${printable(text)}`);
    }
  };
  const { event } = deadLetter;
  if (event) {
    for (const attribute of ['id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'dataschema'] as const) {
      field(attribute, event[attribute]);
    }
    for (const [name, value] of Object.entries(event.extensions ?? {})) field(name, value);
    field('data', (details.event as { data?: unknown }).data);
  } else {
    field('unreadable', deadLetter.unreadable);
    field('value', deadLetter.value?.toString('utf8'));
  }
  field('key', details.key);
  field('trace id', details.trace_id);
  for (const [name, value] of Object.entries(details.dlq_headers as Record<string, string>)) field(name, value);
  return lines.join('\n');
}
