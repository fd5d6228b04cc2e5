import type { OutboundRecord } from '@event-pipeline/common';

/** Headers, key and value of a record, as sized on the wire (plus per-record overhead). */
export function recordSize(record: OutboundRecord): number {
  let size = 70 + (record.key === null ? 0 : Buffer.byteLength(record.key)) + (record.value?.length ?? 0);
  for (const [name, value] of Object.entries(record.headers))
    size += Buffer.byteLength(name) + Buffer.byteLength(value) + 4;
  return size;
}
