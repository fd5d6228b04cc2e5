import { wireSchemaId, WIRE_HEADER_BYTES } from './schema-registry';

describe('the Confluent wire format', () => {
  it('reads the schema id after the magic byte 0', () => {
    const value = Buffer.from([0, 0, 0, 1, 2, 0xaa]);
    expect(wireSchemaId(value)).toBe(258);
  });

  it('says a value is not in it when the magic byte is not 0 or the header is cut short', () => {
    expect(wireSchemaId(Buffer.from([1, 0, 0, 0, 5, 0]))).toBeUndefined();
    expect(wireSchemaId(Buffer.alloc(WIRE_HEADER_BYTES - 1))).toBeUndefined();
    expect(wireSchemaId(Buffer.from('{"json":true}'))).toBeUndefined();
  });
});
