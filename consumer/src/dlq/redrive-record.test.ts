import type { KafkaMessage } from 'kafkajs';
import { toKafkaRecord } from '@event-pipeline/common';
import { DEAD_LETTER_HEADERS, REDRIVE_HEADERS } from '../dead-letter-headers';
import { readDeadLetter } from './dead-letter';
import { decodePendingSend, encodePendingSend, redrivenRecord } from './redrive-record';
import { refusedTarget } from './redrive';
import { canonicalSelector, createMatcher, EMPTY_SELECTOR } from './selector';

function deadLetterMessage(extra: Record<string, string> = {}): KafkaMessage {
  const record = toKafkaRecord(
    {
      specversion: '1.0',
      id: 'evt-1',
      source: '/shop',
      type: 'order.placed',
      time: '2026-12-01T00:00:00Z',
      data: { n: 1 },
    },
    1_700_000_000_000,
  );
  const headers: Record<string, Buffer> = {};
  const all = {
    ...record.headers,
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    [DEAD_LETTER_HEADERS.errorName]: 'SchemaError',
    [DEAD_LETTER_HEADERS.errorMessage]: 'amount must be positive',
    [DEAD_LETTER_HEADERS.attempts]: '3',
    [DEAD_LETTER_HEADERS.originalTopic]: 'events',
    [DEAD_LETTER_HEADERS.originalPartition]: '2',
    [DEAD_LETTER_HEADERS.originalOffset]: '41',
    [DEAD_LETTER_HEADERS.failedAt]: '2026-12-02T10:00:00.000Z',
    ...extra,
  };
  for (const [name, value] of Object.entries(all)) headers[name] = Buffer.from(value);
  return {
    key: record.key === null ? null : Buffer.from(record.key),
    value: record.value,
    headers,
    offset: '7',
    timestamp: '1700000000500',
    attributes: 0,
  } as KafkaMessage;
}

describe('a dead letter read back and redriven', () => {
  it('reads the event, the reason, the origin and the trace id', () => {
    const deadLetter = readDeadLetter('events.dlq', 1, deadLetterMessage());
    expect(deadLetter).toMatchObject({
      event: { id: 'evt-1', type: 'order.placed', data: { n: 1 } },
      error: { name: 'SchemaError', message: 'amount must be positive' },
      attempts: 3,
      original: { topic: 'events', partition: 2, offset: '41' },
      failedAt: new Date('2026-12-02T10:00:00.000Z'),
      traceId: '0af7651916cd43dd8448eb211c80319c',
    });
  });

  it('goes back with its key, value and headers, no dlq.* header but the redrive ones, attempts carried over', () => {
    const message = deadLetterMessage({ [REDRIVE_HEADERS.attempts]: '5', [REDRIVE_HEADERS.from]: 'events.dlq/0/1' });
    const record = redrivenRecord(readDeadLetter('events.dlq', 1, message), new Date('2026-12-03T00:00:00Z'));
    expect(record.key).toEqual(message.key);
    expect(record.value).toEqual(message.value);
    const text = Object.fromEntries(Object.entries(record.headers).map(([name, value]) => [name, value.toString()]));
    expect(text).toMatchObject({
      ce_id: 'evt-1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      [REDRIVE_HEADERS.at]: '2026-12-03T00:00:00.000Z',
      [REDRIVE_HEADERS.from]: 'events.dlq/1/7',
      // 3 in this round, 5 in the rounds before.
      [REDRIVE_HEADERS.attempts]: '8',
    });
    expect(
      Object.keys(text)
        .filter((name) => name.startsWith('dlq.'))
        .sort(),
    ).toEqual(Object.values(REDRIVE_HEADERS).sort());
  });

  it('keeps a note of a pending send that reads back, and ignores one it did not write', () => {
    const note = { end: 12n, targets: { events: { '0': '100', '3': '7' } } };
    expect(decodePendingSend(encodePendingSend(note))).toEqual(note);
    expect(decodePendingSend('')).toBeUndefined();
    expect(decodePendingSend(null)).toBeUndefined();
    expect(decodePendingSend('someone else’s metadata')).toBeUndefined();
  });
});

describe('a selector', () => {
  const deadLetter = readDeadLetter('events.dlq', 1, deadLetterMessage());
  const matches = (selector: Partial<typeof EMPTY_SELECTOR>) =>
    createMatcher({ ...EMPTY_SELECTOR, ...selector })(deadLetter);

  it('matches on every criterion given, any value of each', () => {
    expect(matches({})).toBe(true);
    expect(matches({ types: ['other', 'order.placed'] })).toBe(true);
    expect(matches({ types: ['order.placed'], ids: ['nope'] })).toBe(false);
    expect(matches({ error: 'AMOUNT must' })).toBe(true);
    expect(matches({ error: '/^SchemaError: amount/' })).toBe(true);
    expect(matches({ error: '/^Error/' })).toBe(false);
    expect(matches({ since: new Date('2026-12-02T10:00:00.000Z') })).toBe(true);
    expect(matches({ until: new Date('2026-12-02T10:00:00.000Z') })).toBe(false);
    expect(matches({ offsets: [{ partition: 1, offset: '7' }] })).toBe(true);
    expect(matches({ offsets: [{ partition: 0, offset: '7' }] })).toBe(false);
  });

  it('has one canonical form whatever the order of its values', () => {
    expect(canonicalSelector({ ...EMPTY_SELECTOR, types: ['b', 'a'] })).toBe(
      canonicalSelector({ ...EMPTY_SELECTOR, types: ['a', 'b', 'a'] }),
    );
  });
});

// Issue 29: a header without a value (null, as KafkaJS reads it) threw in `dlq list` and `dlq show`.
describe('a dead letter with a header that has no value', () => {
  it('reads as the event, the header left out of the text, and redrives without it', () => {
    const message = deadLetterMessage();
    (message.headers as Record<string, unknown>)['x-empty'] = null;
    (message.headers as Record<string, unknown>).ce_tenant = null;
    const deadLetter = readDeadLetter('events.dlq', 0, message);
    expect(deadLetter.unreadable).toBeUndefined();
    expect(deadLetter.event?.id).toBe('evt-1');
    expect(deadLetter.headerText).not.toHaveProperty('x-empty');
    expect(redrivenRecord(deadLetter, new Date(0)).headers).not.toHaveProperty('x-empty');
  });
});

// Issue 29: `--to` (and a dead letter's own header) could name the dead-letter topic or Kafka's own.
describe('refusedTarget', () => {
  it.each([
    ['the dead-letter topic itself', 'events.dlq', /dead-letter topic itself/],
    ["Kafka's offsets", '__consumer_offsets', /internal topic/],
    ["Kafka's transaction state", '__transaction_state', /internal topic/],
    ["Apicurio's KafkaSQL journal", 'kafkasql-journal', /schema registry's journal/],
    ["Confluent's schema topic", '_schemas', /schema registry's journal/],
  ])('refuses %s', (_, topic, reason) => {
    expect(refusedTarget(topic, 'events.dlq')).toMatch(reason);
  });

  it.each(['events', 'quarantine', 'events_v2'])('lets %s be a target', (topic) => {
    expect(refusedTarget(topic, 'events.dlq')).toBeUndefined();
  });
});
