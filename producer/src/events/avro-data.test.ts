import { avroJsonSchema } from './avro-data';

describe('the JSON Schema of an Avro schema, for the OpenAPI document', () => {
  it('requires the fields without a default, allows null for a nullable union, and lists enum symbols', () => {
    expect(
      avroJsonSchema({
        type: 'record',
        name: 'paid',
        fields: [
          { name: 'id', type: 'string' },
          { name: 'cents', type: 'long' },
          { name: 'method', type: { type: 'enum', name: 'Method', symbols: ['CARD', 'CASH'] } },
          { name: 'note', type: ['null', 'string'], default: null },
          { name: 'tags', type: { type: 'array', items: 'string' } },
        ],
      }),
    ).toEqual({
      type: 'object',
      additionalProperties: false,
      required: ['id', 'cents', 'method', 'tags'],
      properties: {
        id: { type: 'string' },
        cents: { type: 'integer' },
        method: { type: 'string', enum: ['CARD', 'CASH'] },
        note: { anyOf: [{ type: 'null' }, { type: 'string' }] },
        tags: { type: 'array', items: { type: 'string' } },
      },
    });
  });
});
