import { CloudEvent as SdkEvent, Kafka } from 'cloudevents';
import { sdkKafkaMessage } from '../../test/support/cloudevents';
import { EnvelopeError, fromKafkaRecord, toKafkaRecord, type CloudEvent, type OutboundRecord } from './envelope';

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

  it('keys by the partitionkey extension first, then subject; an event with neither has no key', () => {
    expect(toKafkaRecord({ ...event, extensions: { partitionkey: 'p' } }, 0).key).toBe('p');
    const { subject: _subject, ...withoutSubject } = event;
    expect(toKafkaRecord(withoutSubject, 0).key).toBeNull();
  });

  it('reads back what it wrote, from Buffer headers as a client delivers them', () => {
    const record = toKafkaRecord({ ...event, extensions: { tenant: 'acme' } }, 1000);
    const headers = Object.fromEntries(
      Object.entries(record.headers).map(([name, value]) => [name, Buffer.from(value)]),
    );
    const decoded = fromKafkaRecord({
      key: record.key === null ? null : Buffer.from(record.key),
      value: record.value,
      headers,
      timestamp: '1000',
    });
    expect(decoded).toEqual({ event: { ...event, extensions: { tenant: 'acme' } }, acceptedAt: 1000 });
  });

  it('reads a record with a header written without a value (KafkaJS gives null) as if the header were absent', () => {
    const record = toKafkaRecord(event, 1000);
    const headers = {
      ...Object.fromEntries(Object.entries(record.headers).map(([name, value]) => [name, Buffer.from(value)])),
      ce_tenant: null,
      traceparent: null,
    } as unknown as Record<string, Buffer>;
    const decoded = fromKafkaRecord({ key: null, value: record.value, headers, timestamp: '1000' });
    expect(decoded.event).toEqual(event);
  });

  it('reads header names in any case, an exact lower-case name winning over another spelling in any order', () => {
    const decoded = fromKafkaRecord({
      key: null,
      value: Buffer.from('{"a":1}'),
      headers: {
        CE_ID: Buffer.from('shouted'),
        ce_specversion: Buffer.from('1.0'),
        Ce_Source: Buffer.from('urn:mixed'),
        ce_id: Buffer.from('e-7'),
        ce_type: 'order.placed',
        'Content-Type': Buffer.from('application/json'),
        CE_TENANT: Buffer.from('loud'),
        ce_tenant: Buffer.from('acme'),
        Ce_Region: Buffer.from('eu'),
        ce_datacontenttype: Buffer.from('application/json'),
        traceparent: Buffer.from('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'),
        custom: Buffer.from('not the binding'),
      },
      timestamp: '0',
    });
    expect(decoded.event).toEqual({
      specversion: '1.0',
      id: 'e-7',
      source: 'urn:mixed',
      type: 'order.placed',
      time: new Date(0).toISOString(),
      datacontenttype: 'application/json',
      data: { a: 1 },
      // Any other ce_ header is an extension attribute, ce_datacontenttype (which the SDK repeats) among them.
      extensions: { tenant: 'acme', region: 'eu', datacontenttype: 'application/json' },
    });
  });

  it('writes an event without data as an empty value, never a null tombstone, and reads it back without data', () => {
    const { data: _data, datacontenttype: _type, ...bare } = event;
    const record = toKafkaRecord(bare, 5);
    expect(record.value).toEqual(Buffer.alloc(0));
    expect(record.headers['content-type']).toBeUndefined();
    expect(fromKafkaRecord({ ...record, key: null }).event.data).toBeUndefined();
    // Records written before this change carry a null value.
    expect(fromKafkaRecord({ ...record, key: null, value: null }).event.data).toBeUndefined();
  });

  it('carries binary data as bytes with its content type', () => {
    const bytes = Buffer.from([0, 1, 2, 255]);
    const record = toKafkaRecord({ ...event, datacontenttype: 'image/png', data: bytes }, 0);
    expect(record.value).toEqual(bytes);
    expect(record.headers['content-type']).toBe('image/png');
    expect(fromKafkaRecord({ ...record, key: null }).event.data).toEqual(bytes);
    const untyped = toKafkaRecord({ ...event, datacontenttype: undefined, data: bytes }, 0);
    expect(untyped.headers['content-type']).toBe('application/octet-stream');
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

/** A record as a KafkaJS consumer hands it to any reader: Buffer headers and value. */
function asDelivered(record: OutboundRecord) {
  return {
    key: record.key === null ? null : Buffer.from(record.key),
    value: record.value,
    headers: Object.fromEntries(Object.entries(record.headers).map(([name, value]) => [name, Buffer.from(value)])),
    timestamp: record.timestamp,
  };
}

describe("our records follow the CloudEvents SDK's Kafka binding", () => {
  const withExtensions: CloudEvent = {
    ...event,
    dataschema: 'urn:schema:order:1',
    extensions: { tenant: 'acme', traceid: 'abc' },
  };

  it('the SDK reads our record back into the same event; the key becomes its partitionkey', () => {
    const read = Kafka.toEvent(sdkKafkaMessage(toKafkaRecord(withExtensions, 0)));
    expect(Array.isArray(read)).toBe(false);
    expect({ ...(read as object) }).toEqual({
      specversion: '1.0',
      id: 'e-1',
      source: 'urn:test',
      type: 'order.placed',
      subject: 'order-9',
      time: '2026-11-26T08:00:00.000Z',
      datacontenttype: 'application/json',
      dataschema: 'urn:schema:order:1',
      data: { total: 12.5, items: ['a'] },
      tenant: 'acme',
      traceid: 'abc',
      partitionkey: 'order-9',
    });
  });

  it("writes the headers the SDK's binary mode writes for the same event, and its data as the value", () => {
    const sdkEvent = new SdkEvent({
      specversion: '1.0',
      id: 'e-1',
      source: 'urn:test',
      type: 'order.placed',
      subject: 'order-9',
      time: '2026-11-26T08:00:00.000Z',
      datacontenttype: 'application/json',
      dataschema: 'urn:schema:order:1',
      data: { total: 12.5, items: ['a'] },
      tenant: 'acme',
      partitionkey: 'p-1',
    });
    const sdk = Kafka.binary(sdkEvent);
    const ours = toKafkaRecord({ ...withExtensions, extensions: { tenant: 'acme', partitionkey: 'p-1' } }, 0);
    // The SDK also repeats datacontenttype as ce_datacontenttype; the binding maps it to content-type only.
    const { ce_datacontenttype: _repeated, ...sdkHeaders } = sdk.headers as Record<string, unknown>;
    expect(ours.headers).toEqual(sdkHeaders);
    expect(ours.key).toBe(sdk.key);
    expect(JSON.parse(ours.value!.toString())).toEqual(sdk.value);
  });

  it('reads a record the SDK wrote, as a KafkaJS consumer delivers it', () => {
    const sdk = Kafka.binary(
      new SdkEvent({
        id: 'x-1',
        source: '/sensors/7',
        type: 'reading',
        data: { celsius: 21 },
        datacontenttype: 'application/json',
        region: 'eu',
      }),
    );
    const record: OutboundRecord = {
      key: 'k',
      value: Buffer.from(JSON.stringify(sdk.value)),
      headers: Object.fromEntries(
        Object.entries(sdk.headers as Record<string, unknown>)
          .filter(([, value]) => value !== undefined)
          .map(([name, value]) => [name, String(value)]),
      ),
      timestamp: '0',
    };
    const { event: read } = fromKafkaRecord(asDelivered(record));
    expect(read).toMatchObject({ id: 'x-1', source: '/sensors/7', type: 'reading', data: { celsius: 21 } });
    expect(read.extensions).toMatchObject({ region: 'eu' });
  });
});
