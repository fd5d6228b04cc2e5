import type { KafkaMessage } from 'kafkajs';
import { orderingKeyOf } from './kafka-source';

const message = (key: string | null, headers: Record<string, string> = {}): KafkaMessage =>
  ({
    key: key === null ? null : Buffer.from(key),
    value: null,
    timestamp: '0',
    attributes: 0,
    offset: '0',
    headers: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, Buffer.from(value)])),
  }) as KafkaMessage;

describe('orderingKeyOf', () => {
  it('keeps the order of a keyed record by its key', () => {
    expect(orderingKeyOf(message('device-1'))).toBe(orderingKeyOf(message('device-1', { ce_id: 'other' })));
    expect(orderingKeyOf(message('device-1'))).not.toBe(orderingKeyOf(message('device-2')));
  });

  it('runs the copies of one unkeyed event one after the other, so the de-duplication window sees the first before the next', () => {
    const copy = { ce_id: 'e-1', ce_source: '/shop' };
    expect(orderingKeyOf(message(null, copy))).toBe(orderingKeyOf(message(null, copy)));
    // Another caller's event of the same source and id is another event.
    expect(orderingKeyOf(message(null, { ...copy, ce_authid: 'a' }))).not.toBe(orderingKeyOf(message(null, copy)));
    expect(orderingKeyOf(message(null, { ...copy, ce_id: 'e-2' }))).not.toBe(orderingKeyOf(message(null, copy)));
  });

  it('leaves a record with neither a key nor an id free to run in any order', () => {
    expect(orderingKeyOf(message(null))).toBeNull();
  });
});
