import avro, { type Schema, type Type } from 'avsc';
import type { FieldError } from '../problem';
import { pointerOf } from './validate';

/**
 * The avsc options this project reads Avro with, in the producer and (through the codec's
 * defaults) the consumer alike: a union of null and one type takes a plain JSON value.
 */
export function avroTypeOf(document: unknown): Type {
  return avro.Type.forSchema(document as Schema);
}

/**
 * Checks JSON data against an Avro type and appends one error per failing field, each with the
 * JSON pointer of the field under `pointer`. Fields the schema does not declare are errors too:
 * Avro would drop them silently, and nothing an event carries may be lost on the way.
 */
export function checkAvroData(
  type: Type,
  data: unknown,
  { pointer, index, errors }: { pointer: string; index: number | undefined; errors: FieldError[] },
): boolean {
  const before = errors.length;
  const push = (path: string[], message: string): void => {
    errors.push({ ...(index !== undefined ? { index } : {}), pointer: pointer + pointerOf(path), message });
  };
  // Two passes: avsc stops at a record with undeclared fields, so the fields' own errors come first.
  type.isValid(data, { errorHook: (path, value, failing) => push(path, avroMessage(failing, value)) });
  type.isValid(data, {
    noUndeclaredFields: true,
    errorHook: (path, value, failing) => {
      const undeclared = undeclaredFields(failing, value);
      if (undeclared.length > 0) push(path, `has fields the schema does not declare: ${undeclared.join(', ')}`);
    },
  });
  return errors.length === before;
}

function undeclaredFields(type: Type, value: unknown): string[] {
  if (type.typeName !== 'record' || typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const declared = new Set((type as unknown as { fields: Array<{ name: string }> }).fields.map((field) => field.name));
  return Object.keys(value).filter((key) => !declared.has(key));
}

function avroMessage(type: Type, value: unknown): string {
  if (value === undefined) return `is required (${describe(type)})`;
  if (type.typeName === 'enum') {
    return `must be one of ${(type as unknown as { symbols: string[] }).symbols.join(', ')}`;
  }
  return `must be ${describe(type)}`;
}

function describe(type: Type): string {
  switch (type.typeName) {
    case 'record':
    case 'error':
      return `an object (record ${type.name ?? ''})`.replace(' )', ')');
    case 'string':
      return 'a string';
    case 'int':
      return 'a 32-bit integer (int)';
    case 'long':
      return 'an integer (long)';
    case 'float':
    case 'double':
      return `a number (${type.typeName})`;
    case 'boolean':
      return 'true or false';
    case 'null':
      return 'null';
    case 'array':
      return 'an array';
    case 'map':
      return 'an object (map)';
    case 'bytes':
    case 'fixed':
      return `${type.typeName} (not expressible in JSON data)`;
    default:
      if (type.typeName.startsWith('union')) {
        const types = (type as unknown as { types: Type[] }).types;
        return `one of: ${types.map((member) => describe(member)).join(', ')}`;
      }
      if (type.typeName.startsWith('logical'))
        return `a ${(type as unknown as { underlyingType: Type }).underlyingType.typeName}`;
      return type.typeName;
  }
}

/**
 * A JSON Schema for the JSON data an Avro schema accepts, for the OpenAPI document. Fields with a
 * default may be left out; a nullable union takes null.
 */
export function avroJsonSchema(schema: unknown, named = new Map<string, unknown>()): Record<string, unknown> {
  if (typeof schema === 'string') {
    const primitive = PRIMITIVES[schema];
    if (primitive) return primitive;
    return (named.get(schema) as Record<string, unknown> | undefined) ?? {};
  }
  if (Array.isArray(schema)) return { anyOf: schema.map((member) => avroJsonSchema(member, named)) };
  const node = schema as Record<string, unknown>;
  const doc = typeof node.doc === 'string' ? { description: node.doc } : {};
  switch (node.type) {
    case 'record':
    case 'error': {
      const fields = (node.fields as Array<{ name: string; type: unknown; default?: unknown; doc?: string }>) ?? [];
      const result: Record<string, unknown> = {
        type: 'object',
        ...doc,
        properties: {},
        required: fields.filter((field) => !('default' in field)).map((field) => field.name),
        additionalProperties: false,
      };
      if (typeof node.name === 'string') named.set(node.name, result);
      for (const field of fields) {
        (result.properties as Record<string, unknown>)[field.name] = {
          ...avroJsonSchema(field.type, named),
          ...(field.doc ? { description: field.doc } : {}),
        };
      }
      return result;
    }
    case 'enum':
      return { type: 'string', enum: node.symbols, ...doc };
    case 'array':
      return { type: 'array', items: avroJsonSchema(node.items, named), ...doc };
    case 'map':
      return { type: 'object', additionalProperties: avroJsonSchema(node.values, named), ...doc };
    case 'fixed':
      return { type: 'string', ...doc };
    default:
      return { ...avroJsonSchema(node.type, named), ...doc };
  }
}

const PRIMITIVES: Record<string, Record<string, unknown>> = {
  null: { type: 'null' },
  boolean: { type: 'boolean' },
  int: { type: 'integer', minimum: -2147483648, maximum: 2147483647 },
  long: { type: 'integer' },
  float: { type: 'number' },
  double: { type: 'number' },
  string: { type: 'string' },
  bytes: { type: 'string' },
};
