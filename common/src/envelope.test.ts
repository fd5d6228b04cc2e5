import { EnvelopeError, fromKafkaRecord, toKafkaRecord, type CloudEvent } from './envelope';

const event: CloudEvent = {
  specversion: '1.0',
  id: 'e-1',
  source: 'urn:test',
  type: 'order.placed',
  subject: 'order-9',
  time: '2026-11-26T08:00:00.000Z',
  datacontenttype: 'application/json',
  data: { total: 12.5, items: ['a'] },
};

describe('the CloudEvents Kafka binding (binary mode)', () => {
  it('puts attributes in ce_ headers, the data alone in the value, and the subject in the key', () => {
    const record = toKafkaRecord(event, 1_764_144_000_000);
    expect(record.key).toBe('order-9');
    expect(record.timestamp).toBe('1764144000000');
    expect(JSON.parse(record.value!.toString())).toEqual(event.data);
    expect(record.headers).toEqual({
      ce_specversion: '1.0',
      ce_id: 'e-1',
      ce_source: 'urn:test',
      ce_type: 'order.placed',
      ce_subject: 'order-9',
      ce_time: '2026-11-26T08:00:00.000Z',
      'content-type': 'application/json',
    });
  });

  it('keys by the partitionkey extension first, then subject, then id', () => {
    expect(toKafkaRecord({ ...event, extensions: { partitionkey: 'p' } }, 0).key).toBe('p');
    const { subject: _subject, ...withoutSubject } = event;
    expect(toKafkaRecord(withoutSubject, 0).key).toBe('e-1');
  });

  it('reads back what it wrote, from Buffer headers as a client delivers them', () => {
    const record = toKafkaRecord({ ...event, extensions: { tenant: 'acme' } }, 1000);
    const headers = Object.fromEntries(
      Object.entries(record.headers).map(([name, value]) => [name, Buffer.from(value)]),
    );
    const decoded = fromKafkaRecord({ key: Buffer.from(record.key), value: record.value, headers, timestamp: '1000' });
    expect(decoded).toEqual({ event: { ...event, extensions: { tenant: 'acme' } }, acceptedAt: 1000 });
  });

  it('keeps an event without data without a value', () => {
    const { data: _data, datacontenttype: _type, ...bare } = event;
    const record = toKafkaRecord(bare, 5);
    expect(record.value).toBeNull();
    expect(fromKafkaRecord({ ...record, key: null }).event.data).toBeUndefined();
  });

  it('refuses a record that is not a CloudEvent, as not retriable', () => {
    const noHeaders = () => fromKafkaRecord({ key: null, value: Buffer.from('{}'), headers: {}, timestamp: '0' });
    expect(noHeaders).toThrow(EnvelopeError);
    expect(noHeaders).toThrow('record has no ce_specversion header');
    const badJson = () =>
      fromKafkaRecord({
        key: null,
        value: Buffer.from('{nope'),
        headers: {
          ce_specversion: '1.0',
          ce_id: 'x',
          ce_source: 's',
          ce_type: 't',
          'content-type': 'application/json',
        },
        timestamp: '0',
      });
    expect(badJson).toThrow(/not the JSON/);
  });
});
