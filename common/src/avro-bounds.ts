import type { Type } from 'avsc';
import { PipelineError } from './errors';

/*
 * avsc trusts the item counts of Avro arrays and maps: a few bytes can name a count of billions,
 * and it allocates for them before it finds the bytes missing (or, for items of size zero such
 * as null or an empty record, succeeds and keeps them all). So a value is walked against its
 * schema first, reading only counts, lengths and union branches, and refused when it would
 * decode to more than it can hold: more array items and map entries than it has bytes, nesting
 * deeper than MAX_AVRO_DEPTH, or lengths past its end. The walk allocates nothing and takes
 * time in proportion to the bytes and items it allows.
 */

/** Nesting (records, arrays, maps, unions) one value may have; a recursive schema otherwise lets its bytes choose. */
export const MAX_AVRO_DEPTH = 64;

/** A value that would decode to more than it may, or that ends before its schema says. */
export class AvroBoundsError extends PipelineError {
  /** The bytes will not change. */
  readonly retriable = false;
}

interface Walk {
  bytes: Buffer;
  pos: number;
  /** Array items and map entries left to the value. */
  items: number;
}

/** Throws AvroBoundsError when `bytes` (Avro binary, no wire header) would decode past the bounds. */
export function checkAvroBounds(type: Type, bytes: Buffer): void {
  const walk: Walk = { bytes, pos: 0, items: bytes.length };
  skip(type, walk, 0);
}

function need(walk: Walk, count: number): void {
  if (count < 0 || walk.pos + count > walk.bytes.length) {
    throw new AvroBoundsError(`the value ends before its schema says (needs ${count} more bytes at byte ${walk.pos})`);
  }
  walk.pos += count;
}

/** An Avro long (zig-zag varint); beyond 2^53 it loses precision, which no bound here minds. */
function readLong(walk: Walk): number {
  let result = 0;
  let factor = 1;
  for (let index = 0; index < 10; index++) {
    if (walk.pos >= walk.bytes.length) throw new AvroBoundsError(`the value ends inside a number at byte ${walk.pos}`);
    const byte = walk.bytes[walk.pos++]!;
    result += (byte & 0x7f) * factor;
    if ((byte & 0x80) === 0) return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
    factor *= 128;
  }
  throw new AvroBoundsError(`a number at byte ${walk.pos} is longer than 10 bytes`);
}

function skip(type: Type, walk: Walk, depth: number): void {
  if (depth > MAX_AVRO_DEPTH) throw new AvroBoundsError(`the value nests deeper than ${MAX_AVRO_DEPTH} levels`);
  const node = type as unknown as {
    typeName: string;
    fields?: Array<{ type: Type }>;
    itemsType?: Type;
    valuesType?: Type;
    types?: Type[];
    size?: number;
    underlyingType?: Type;
  };
  switch (node.typeName) {
    case 'null':
      return;
    case 'boolean':
      return need(walk, 1);
    case 'int':
    case 'long':
    case 'enum':
      readLong(walk);
      return;
    case 'float':
      return need(walk, 4);
    case 'double':
      return need(walk, 8);
    case 'string':
    case 'bytes':
      return need(walk, readLong(walk));
    case 'fixed':
      return need(walk, node.size ?? 0);
    case 'record':
    case 'error':
      for (const field of node.fields ?? []) skip(field.type, walk, depth + 1);
      return;
    case 'array':
    case 'map':
      return skipBlocks(walk, depth, (item) => {
        if (node.typeName === 'map') need(walk, readLong(walk));
        skip((node.itemsType ?? node.valuesType)!, walk, item);
      });
    default:
      if (node.typeName.startsWith('union')) {
        const branch = readLong(walk);
        const member = node.types?.[branch];
        if (!member) throw new AvroBoundsError(`union branch ${branch} at byte ${walk.pos} does not exist`);
        return skip(member, walk, depth + 1);
      }
      if (node.typeName.startsWith('logical') && node.underlyingType) return skip(node.underlyingType, walk, depth);
      throw new AvroBoundsError(`the schema has a type this check does not know: ${node.typeName}`);
  }
}

/** Array and map blocks: a count (negative: followed by the block's size in bytes), 0 ends them. */
function skipBlocks(walk: Walk, depth: number, skipItem: (depth: number) => void): void {
  for (;;) {
    let count = readLong(walk);
    if (count === 0) return;
    if (count < 0) {
      count = -count;
      readLong(walk);
    }
    walk.items -= count;
    if (walk.items < 0) {
      throw new AvroBoundsError(
        `the value asks for more array items and map entries than its ${walk.bytes.length} bytes (a block of ${count})`,
      );
    }
    for (let index = 0; index < count; index++) skipItem(depth + 1);
  }
}
