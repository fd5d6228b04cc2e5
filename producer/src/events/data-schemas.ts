import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { PipelineError, type CloudEvent, type SchemaFormat } from '@event-pipeline/common';
import type { Type } from 'avsc';
import type { FieldError } from '../problem';
import { avroJsonSchema, avroTypeOf, checkAvroData } from './avro-data';
import { pointerOf, type ItemLocation } from './validate';

/** One version of the schema of an event type's data. */
export interface DataSchema {
  type: string;
  version: number;
  /** What `dataschema` the events it validated carry: a JSON Schema's `$id`, or the schema's URL in the registry. */
  id: string;
  format: SchemaFormat;
  /** The schema document: a JSON Schema, or an Avro schema. */
  schema: Record<string, unknown>;
  /** The registry's id of the schema (the one in the Avro wire format), when it came from the registry. */
  registryId?: number;
}

/** One version, ready to check data (and, for Avro from the registry, to encode it). */
export interface CompiledSchema extends DataSchema {
  /** Other names an event's `dataschema` may give it (a JSON Schema's `$id` when the registry holds it). */
  aliases: readonly string[];
  /** A JSON Schema of the data, for the OpenAPI document. */
  jsonSchema: Record<string, unknown>;
  /** Appends the data's failures, each pointing under `pointer`; true when there were none. */
  validate(data: unknown, pointer: string, index: number | undefined, errors: FieldError[]): boolean;
  /** The record value of valid data: Avro in the Confluent wire format. Absent: the data travels as JSON. */
  encode?: (data: unknown) => Promise<Buffer>;
}

/** Raised at start when the schema folder cannot be used; the message names the file. */
export class DataSchemaLoadError extends PipelineError {
  /** The folder must be fixed first. */
  readonly retriable = false;
}

/** `<version>.json` (JSON Schema) or `<version>.avsc` (Avro). */
export const VERSION_FILE = /^([1-9]\d{0,5})\.(json|avsc)$/;
/** A request's errors are listed up to this many; a huge invalid batch is not echoed whole. */
export const MAX_LISTED_ERRORS = 100;

/** The JSON Schema compiler of the data schemas, one per set of schemas (ids must be unique within it). */
export function createSchemaCompiler(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  // Formats only: the formatMinimum/Maximum keywords would need ajv-formats and ajv to share one
  // copy of ajv, which the workspace cannot give them (the linter pins ajv 6 at the root).
  addFormats(ajv, { keywords: false });
  return ajv;
}

/** A JSON Schema version; throws with the compiler's reason when it is not a valid schema. */
export function compileJsonSchema(ajv: Ajv2020, schema: DataSchema, aliases: readonly string[] = []): CompiledSchema {
  const validate = ajv.compile(schema.schema);
  return {
    ...schema,
    aliases,
    jsonSchema: schema.schema,
    validate: (data, pointer, index, errors) => {
      // An event without data is checked as null, so a schema that wants an object refuses it.
      if (validate(data ?? null)) return true;
      for (const error of validate.errors ?? []) {
        errors.push({
          ...(index !== undefined ? { index } : {}),
          pointer: pointer + pointerOfError(error),
          message: error.message ?? 'is invalid',
        });
      }
      return false;
    },
  };
}

/** An Avro version; with `encode`, valid data travels as Avro (else as the JSON it came as). */
export function compileAvroSchema(
  schema: DataSchema,
  type: Type,
  encode?: (data: unknown) => Promise<Buffer>,
): CompiledSchema {
  return {
    ...schema,
    aliases: [],
    jsonSchema: avroJsonSchema(schema.schema),
    validate: (data, pointer, index, errors) => checkAvroData(type, data ?? null, { pointer, index, errors }),
    ...(encode ? { encode } : {}),
  };
}

/**
 * Where the schemas of a request's event types come from: the schema folder (DataSchemas) or
 * the registry (RegistrySchemas).
 */
export interface SchemaCatalog {
  /**
   * The schemas of these types, looked up first where need be. Throws
   * SchemaRegistryUnavailableError when a type is not known yet and the registry cannot be asked.
   */
  forTypes(types: ReadonlySet<string>): DataSchemas | Promise<DataSchemas>;
  /** Every schema there is now, for GET /schemas and the OpenAPI document. */
  current(): DataSchemas | Promise<DataSchemas>;
}

/**
 * A set of event types with their schemas, compiled once. Folder layout: `<dir>/<type>/<version>.json`
 * or `.avsc`; the highest version is the one an event without a `dataschema` is checked against.
 */
export class DataSchemas implements SchemaCatalog {
  private readonly byType = new Map<string, CompiledSchema[]>();

  constructor(schemas: readonly CompiledSchema[]) {
    for (const schema of schemas) {
      const versions = this.byType.get(schema.type) ?? [];
      versions.push(schema);
      this.byType.set(schema.type, versions);
    }
    for (const versions of this.byType.values()) versions.sort((a, b) => a.version - b.version);
  }

  static empty(): DataSchemas {
    return new DataSchemas([]);
  }

  /**
   * Reads and compiles every schema under `dir`; throws DataSchemaLoadError naming the bad file.
   * Without a registry, Avro schemas check the data, which then travels as JSON.
   */
  static load(dir: string): DataSchemas {
    const compiled: CompiledSchema[] = [];
    const ajv = createSchemaCompiler();
    for (const file of readSchemaFolder(dir)) {
      if (file.format === 'json') {
        const id = file.document.$id;
        if (typeof id !== 'string' || id === '') {
          throw new DataSchemaLoadError(
            `${file.path}: the schema needs an "$id" (a URI; it becomes the events' dataschema)`,
          );
        }
        try {
          compiled.push(compileJsonSchema(ajv, { ...file, id, schema: file.document }));
        } catch (error) {
          throw new DataSchemaLoadError(`${file.path}: ${(error as Error).message}`);
        }
      } else {
        let type: Type;
        try {
          type = avroTypeOf(file.document);
        } catch (error) {
          throw new DataSchemaLoadError(`${file.path}: ${(error as Error).message}`);
        }
        const id = `urn:event-pipeline:schema:${file.type}:${file.version}`;
        compiled.push(compileAvroSchema({ ...file, id, schema: file.document }, type));
      }
    }
    return new DataSchemas(compiled);
  }

  forTypes(): DataSchemas {
    return this;
  }

  current(): DataSchemas {
    return this;
  }

  /** Every schema, by type then version. */
  list(): DataSchema[] {
    return [...this.byType.values()].flat().map(publicView);
  }

  /** The newest schema of each type. */
  latest(): DataSchema[] {
    return this.latestCompiled().map(publicView);
  }

  /** The newest schema of each type, compiled. */
  latestCompiled(): CompiledSchema[] {
    return [...this.byType.values()].map((versions) => versions[versions.length - 1]!);
  }

  /** Every schema, compiled. */
  compiled(): CompiledSchema[] {
    return [...this.byType.values()].flat();
  }

  /**
   * Checks an event's data against the schema of its type (the version its `dataschema` names,
   * else the newest) and sets `dataschema` to that schema's id. Failures are appended to
   * `errors`, pointing into the request body: `at.pointer + /data/...`, or into the body itself
   * in binary mode. A type without a schema passes unless `required`. Returns the schema the
   * data passed, if any.
   */
  check(
    event: CloudEvent,
    at: ItemLocation,
    { required, errors }: { required: boolean; errors: FieldError[] },
  ): CompiledSchema | undefined {
    const versions = this.byType.get(event.type);
    const attributeError = (attribute: string, message: string): FieldError => ({
      ...(at.index !== undefined ? { index: at.index } : {}),
      ...(at.pointer !== undefined ? { pointer: `${at.pointer}/${attribute}` } : { header: `ce-${attribute}` }),
      attribute,
      message,
    });
    if (!versions) {
      if (required) {
        errors.push(attributeError('type', `has no schema (GET /schemas lists the types); this API requires one`));
      }
      return undefined;
    }
    let schema = versions[versions.length - 1]!;
    if (event.dataschema !== undefined) {
      const named = versions.find(
        (candidate) => candidate.id === event.dataschema || candidate.aliases.includes(event.dataschema!),
      );
      if (!named) {
        const known = versions.map((candidate) => candidate.id).join(', ');
        errors.push(attributeError('dataschema', `is not a schema of type ${event.type}; known: ${known}`));
        return undefined;
      }
      schema = named;
    }
    const dataPointer = at.pointer !== undefined ? `${at.pointer}/data` : '';
    if (Buffer.isBuffer(event.data)) {
      errors.push({
        ...(at.index !== undefined ? { index: at.index } : {}),
        pointer: dataPointer,
        message: `must be JSON to be checked against ${schema.id}`,
      });
      return undefined;
    }
    if (!schema.validate(event.data, dataPointer, at.index, errors)) return undefined;
    event.dataschema = schema.id;
    return schema;
  }
}

function publicView({ type, version, id, format, schema, registryId }: CompiledSchema): DataSchema {
  return { type, version, id, format, schema, ...(registryId !== undefined ? { registryId } : {}) };
}

/** One schema file of the schema folder. */
export interface SchemaFile {
  path: string;
  type: string;
  version: number;
  format: SchemaFormat;
  document: Record<string, unknown>;
}

/**
 * The files of a schema folder, by type then version: `<dir>/<type>/<version>.json|avsc`. Files
 * at the top (README.md, compatibility.json) are not schemas. Throws DataSchemaLoadError naming
 * a misnamed or unreadable file, or a type that mixes formats.
 */
export function readSchemaFolder(dir: string): SchemaFile[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new DataSchemaLoadError(`no schema folder at ${dir}`);
  const files: SchemaFile[] = [];
  for (const type of readdirSync(dir).sort()) {
    const folder = join(dir, type);
    if (!statSync(folder).isDirectory()) continue;
    const ofType: SchemaFile[] = [];
    for (const file of readdirSync(folder)) {
      const path = join(folder, file);
      const match = VERSION_FILE.exec(file);
      if (!match) {
        throw new DataSchemaLoadError(
          `${path}: a schema file is named <version>.json (JSON Schema) or <version>.avsc (Avro), e.g. 1.avsc`,
        );
      }
      let document: Record<string, unknown>;
      try {
        document = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
      } catch (error) {
        throw new DataSchemaLoadError(`${path}: not JSON: ${(error as Error).message}`);
      }
      const version = Number(match[1]);
      if (ofType.some((other) => other.version === version)) {
        throw new DataSchemaLoadError(`${path}: version ${version} of ${type} is there twice (.json and .avsc)`);
      }
      ofType.push({ path, type, version, format: match[2] === 'avsc' ? 'avro' : 'json', document });
    }
    ofType.sort((a, b) => a.version - b.version);
    const formats = new Set(ofType.map((file) => file.format));
    if (formats.size > 1) {
      throw new DataSchemaLoadError(
        `${folder}: every version of a type has one format (JSON Schema or Avro); the registry checks compatibility within one`,
      );
    }
    files.push(...ofType);
  }
  return files;
}

/** Ajv points a missing property at its parent; point at the property itself. */
function pointerOfError(error: ErrorObject): string {
  const missing = (error.params as { missingProperty?: unknown }).missingProperty;
  return error.keyword === 'required' && typeof missing === 'string'
    ? error.instancePath + pointerOf([missing])
    : error.instancePath;
}
