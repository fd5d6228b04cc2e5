import avro from 'avsc';
import fc from 'fast-check';
import { AvroBoundsError, checkAvroBounds, MAX_AVRO_DEPTH } from './avro-bounds';

const record = (fields: unknown[]) => avro.Type.forSchema({ type: 'record', name: 'r', fields } as avro.Schema);
/** An Avro long, zig-zag varint. */
const long = (value: number): number[] => {
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  const bytes: number[] = [];
  while (zigzag >= 128) {
    bytes.push((zigzag % 128) | 0x80);
    zigzag = Math.floor(zigzag / 128);
  }
  bytes.push(zigzag);
  return bytes;
};

describe('the bound on what one Avro value may decode to', () => {
  it('refuses, before avsc allocates, an array or map whose count its bytes cannot hold', () => {
    const ints = record([{ name: 'xs', type: { type: 'array', items: 'int' } }]);
    const crafted = Buffer.from([...long(200_000_000), 0]);
    expect(() => checkAvroBounds(ints, crafted)).toThrow(AvroBoundsError);
    expect(() => checkAvroBounds(ints, crafted)).toThrow(/more array items and map entries than its \d+ bytes/);
    const map = record([{ name: 'm', type: { type: 'map', values: 'int' } }]);
    expect(() => checkAvroBounds(map, Buffer.from([...long(-1_000_000_000), ...long(3), 0]))).toThrow(AvroBoundsError);
  });

  it('refuses items of size zero past the value length, which avsc would otherwise decode and keep', () => {
    const nulls = record([{ name: 'xs', type: { type: 'array', items: 'null' } }]);
    const crafted = Buffer.from([...long(10_000_000), 0]);
    expect(() => checkAvroBounds(nulls, crafted)).toThrow(AvroBoundsError);
    expect(nulls.fromBuffer(crafted)).toEqual({ xs: expect.any(Array) });
  });

  it('refuses strings longer than the value, and nesting deeper than the bound', () => {
    const text = record([{ name: 's', type: 'string' }]);
    expect(() => checkAvroBounds(text, Buffer.from([...long(1_000_000), 65]))).toThrow(/ends before its schema says/);
    const tree = avro.Type.forSchema({
      type: 'record',
      name: 'node',
      fields: [{ name: 'next', type: ['null', 'node'] }],
    } as avro.Schema);
    const deep = Buffer.from([...Array.from({ length: MAX_AVRO_DEPTH + 1 }, () => 2), 0]);
    expect(() => checkAvroBounds(tree, deep)).toThrow(/nests deeper/);
  });

  it('passes every value avsc encodes from a schema with arrays, maps, unions, enums and fixed', () => {
    const type = avro.Type.forSchema(
      {
        type: 'record',
        name: 'all',
        fields: [
          { name: 'a', type: { type: 'array', items: 'long' } },
          { name: 'm', type: { type: 'map', values: ['null', 'string', 'double'] } },
          { name: 'e', type: { type: 'enum', name: 'e', symbols: ['A', 'B'] } },
          { name: 'f', type: { type: 'fixed', name: 'f', size: 3 } },
          { name: 'b', type: 'bytes' },
          { name: 'ok', type: 'boolean' },
          { name: 'x', type: 'float' },
          { name: 'when', type: { type: 'long', logicalType: 'timestamp-millis' } },
          { name: 'empty', type: { type: 'array', items: 'null' } },
        ],
      } as avro.Schema,
      { wrapUnions: false },
    );
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -(2 ** 52), max: 2 ** 52 })),
        fc.dictionary(fc.string(), fc.oneof(fc.constant(null), fc.string(), fc.double())),
        fc.constantFrom('A', 'B'),
        fc.uint8Array({ minLength: 3, maxLength: 3 }),
        fc.uint8Array(),
        fc.boolean(),
        fc.integer({ min: -(2 ** 52), max: 2 ** 52 }),
        fc.nat(4),
        (a, m, e, f, b, ok, when, empties) => {
          const value = {
            a,
            m,
            e,
            f: Buffer.from(f),
            b: Buffer.from(b),
            ok,
            x: 1.5,
            when,
            empty: Array.from({ length: empties }, () => null),
          };
          const bytes = type.toBuffer(value);
          // A few items of size zero fit in any value with data besides them.
          if (bytes.length >= empties) expect(() => checkAvroBounds(type, bytes)).not.toThrow();
        },
      ),
    );
  });
});
