// KafkaJS as installed carries `patches/kafkajs+2.2.4.patch` (applied by patch-package after
// `npm ci`): its record encoding and decoding, CRC-32C and grouping by partition do the same work
// with fewer allocations. These tests hold the patched code to the wire format: bytes as the
// protocol lays them out, what it writes read back unchanged, 64-bit offsets exact, and its CRC as
// a bit-by-bit reference computes it. The real broker checks the CRC and the layout on every
// produce request of the e2e and reliability suites, and the consumers read what it serves.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const kafkajs = createRequire(require.resolve('kafkajs'));
const Encoder = kafkajs('./src/protocol/encoder') as new () => EncoderLike;
const Decoder = kafkajs('./src/protocol/decoder') as new (buffer: Buffer) => DecoderLike;
const { RecordBatch } = kafkajs('./src/protocol/recordBatch/v0') as {
  RecordBatch: (batch: {
    records: unknown[];
    firstTimestamp: number;
    maxTimestamp: number;
    firstOffset?: unknown;
  }) => Promise<EncoderLike>;
};
const Record = kafkajs('./src/protocol/recordBatch/record/v0') as (record: RecordInput) => EncoderLike;
const Long = kafkajs('./src/utils/long') as { fromValue(value: string): unknown };
const decodeBatch = kafkajs('./src/protocol/recordBatch/v0/decoder') as (decoder: DecoderLike) => Promise<{
  records: Array<{
    key: Buffer | null;
    value: Buffer | null;
    headers: Record<string, Buffer | Buffer[]>;
    timestamp: string;
    offset: string;
  }>;
}>;
const crc32C = kafkajs('./src/protocol/recordBatch/crc32C') as (buffer: Buffer) => number;
const groupMessagesPerPartition = kafkajs('./src/producer/groupMessagesPerPartition') as (args: {
  topic: string;
  partitionMetadata: Array<{ partitionId: number }>;
  messages: Array<{ partition: number; id: number }>;
  partitioner: (args: { message: { partition: number } }) => number;
}) => Record<string, Array<{ partition: number; id: number }>>;

interface EncoderLike {
  buffer: Buffer;
  writeVarInt(value: number): EncoderLike;
  writeVarLong(value: number): EncoderLike;
}
interface DecoderLike {
  readVarInt(): number;
  readVarLong(): { toString(): string };
}
interface RecordInput {
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, string | Buffer | Array<string | Buffer>>;
}

/** CRC-32C one bit at a time, straight from the polynomial (reflected 0x82F63B78). */
function referenceCrc32C(buffer: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buffer) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

describe('KafkaJS as installed (patches/kafkajs+2.2.4.patch)', () => {
  it('is the patched KafkaJS: patch-package ran after the install', () => {
    const patched = readFileSync(
      path.join(path.dirname(require.resolve('kafkajs')), 'src/protocol/encoder.js'),
      'utf8',
    );
    expect(patched).toContain('event-pipeline:');
  });

  it('writes varints and varlongs that its own decoder reads back, across the byte boundaries and past 32 bits', () => {
    const values = [
      0,
      1,
      -1,
      63,
      64,
      -64,
      -65,
      8191,
      8192,
      -8193,
      2 ** 31 - 1,
      -(2 ** 31),
      2 ** 31,
      -(2 ** 31) - 1,
      2 ** 40,
      -(2 ** 40),
      2 ** 53 - 1,
    ];
    const encoder = new Encoder();
    for (const value of values) {
      if (Math.abs(value) < 2 ** 31) encoder.writeVarInt(value);
      encoder.writeVarLong(value);
    }
    const decoder = new Decoder(encoder.buffer);
    for (const value of values) {
      if (Math.abs(value) < 2 ** 31) expect(decoder.readVarInt()).toBe(value);
      expect(decoder.readVarLong().toString()).toBe(String(value));
    }
  });

  it('writes a record byte for byte as the protocol lays it out', () => {
    const record = Record({ offsetDelta: 1, timestampDelta: 5, key: 'k', value: 'v', headers: { h: 'x' } });
    // length 12, attributes, timestamp delta 5, offset delta 1, key, value, one header (zig-zag varints)
    expect([...record.buffer]).toEqual([0x18, 0, 0x0a, 0x02, 0x02, 0x6b, 0x02, 0x76, 0x02, 0x02, 0x68, 0x02, 0x78]);
    const late = Record({ offsetDelta: 0, timestampDelta: 2 ** 33, key: null, value: null });
    // the timestamp delta 2^33 is the zig-zag 2^34: four bytes of continuation, then 0x40
    expect([...late.buffer]).toEqual([0x14, 0, 0x80, 0x80, 0x80, 0x80, 0x40, 0, 0x01, 0x01, 0]);
  });

  it('reads offsets past 2^53 exactly', async () => {
    const batch = await RecordBatch({
      records: [0, 1, 2].map((offsetDelta) => Record({ offsetDelta, timestampDelta: 0, key: null, value: 'v' })),
      firstOffset: Long.fromValue('9007199254740991'),
      firstTimestamp: 1_764_144_000_000,
      maxTimestamp: 1_764_144_000_000,
    });
    const { records } = await decodeBatch(new Decoder(batch.buffer));
    expect(records.map((record) => record.offset)).toEqual([
      '9007199254740991',
      '9007199254740992',
      '9007199254740993',
    ]);
  });

  it('encodes records (keys, null values, string and Buffer headers, repeated headers, UTF-8) that its own decoder reads back as written', async () => {
    const firstTimestamp = 1_764_144_000_000;
    const inputs: RecordInput[] = [
      { offsetDelta: 0, timestampDelta: 0, key: null, value: Buffer.from('{"a":1}') },
      {
        offsetDelta: 1,
        timestampDelta: 5,
        key: 'order-9',
        value: null,
        headers: { ce_id: 'e-1', 'content-type': 'application/json' },
      },
      {
        offsetDelta: 2,
        timestampDelta: 2 ** 33,
        key: Buffer.from([0, 255]),
        value: 'é€😀',
        headers: { ce_type: 'ünïcode.€', many: ['a', Buffer.from([1, 2])] },
      },
      { offsetDelta: 3, timestampDelta: -7, key: 'k', value: Buffer.alloc(70_000, 7), headers: { empty: '' } },
    ];
    const batch = await RecordBatch({
      records: inputs.map(Record),
      firstTimestamp,
      maxTimestamp: firstTimestamp + 2 ** 33,
    });
    const { records } = await decodeBatch(new Decoder(batch.buffer));

    expect(records).toHaveLength(inputs.length);
    records.forEach((record, index) => {
      const input = inputs[index]!;
      const bytes = (value: Buffer | string | null) => (value === null ? null : Buffer.from(value));
      expect(record.offset).toBe(String(index));
      expect(record.timestamp).toBe(String(firstTimestamp + input.timestampDelta));
      expect(record.key).toEqual(bytes(input.key));
      expect(record.value).toEqual(bytes(input.value));
      const headers = Object.fromEntries(
        Object.entries(input.headers ?? {}).map(([key, value]) => [
          key,
          Array.isArray(value) ? value.map(bytes) : bytes(value),
        ]),
      );
      expect(record.headers).toEqual(headers);
    });
  });

  it('computes CRC-32C as the polynomial does, for the standard check value and for every length around its eight-byte steps', () => {
    expect(crc32C(Buffer.from('123456789'))).toBe(0xe3069283);
    for (let length = 0; length <= 64; length++) {
      const buffer = randomBytes(length);
      expect(crc32C(buffer)).toBe(referenceCrc32C(buffer));
    }
    const large = randomBytes(100_003);
    expect(crc32C(large)).toBe(referenceCrc32C(large));
  });

  it('groups messages by partition keeping their order within each partition', () => {
    const messages = Array.from({ length: 1_000 }, (_, id) => ({ id, partition: (id * 7) % 3 }));
    const grouped = groupMessagesPerPartition({
      topic: 'events',
      partitionMetadata: [0, 1, 2].map((partitionId) => ({ partitionId })),
      messages,
      partitioner: ({ message }) => message.partition,
    });
    expect(Object.keys(grouped).sort()).toEqual(['0', '1', '2']);
    for (const partition of [0, 1, 2]) {
      expect(grouped[partition]).toEqual(messages.filter((message) => message.partition === partition));
    }
  });
});
