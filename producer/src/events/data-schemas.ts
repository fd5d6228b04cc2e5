import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { CloudEvent } from '@event-pipeline/common';
import type { FieldError } from '../problem';
import { pointerOf, type ItemLocation } from './validate';

/** One version of the JSON Schema of an event type's data. */
export interface DataSchema {
  type: string;
  version: number;
  /** The schema's `$id`: set as `dataschema` on the events it validated. */
  id: string;
  schema: Record<string, unknown>;
}

/** Raised at start when the schema folder cannot be used; the message names the file. */
export class DataSchemaLoadError extends Error {
  override readonly name = 'DataSchemaLoadError';
}

const VERSION_FILE = /^([1-9]\d{0,5})\.json$/;
/** A request's errors are listed up to this many; a huge invalid batch is not echoed whole. */
export const MAX_LISTED_ERRORS = 100;

interface Compiled extends DataSchema {
  validate: ValidateFunction;
}

/**
 * The event types with a schema, compiled once. Layout: `<dir>/<type>/<version>.json`; the
 * highest version is the one an event without a `dataschema` is checked against.
 */
export class DataSchemas {
  private readonly byType = new Map<string, Compiled[]>();

  private constructor(schemas: Compiled[]) {
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

  /** Reads and compiles every schema under `dir`; throws DataSchemaLoadError naming the bad file. */
  static load(dir: string): DataSchemas {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new DataSchemaLoadError(`no schema folder at ${dir}`);
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    // Formats only: the formatMinimum/Maximum keywords would need ajv-formats and ajv to share one
    // copy of ajv, which the workspace cannot give them (the linter pins ajv 6 at the root).
    addFormats(ajv, { keywords: false });
    const compiled: Compiled[] = [];
    for (const type of readdirSync(dir).sort()) {
      const folder = join(dir, type);
      if (!statSync(folder).isDirectory()) continue;
      for (const file of readdirSync(folder).sort()) {
        const path = join(folder, file);
        const match = VERSION_FILE.exec(file);
        if (!match) throw new DataSchemaLoadError(`${path}: a schema file is named <version>.json, e.g. 1.json`);
        let schema: Record<string, unknown>;
        try {
          schema = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
        } catch (error) {
          throw new DataSchemaLoadError(`${path}: not JSON: ${(error as Error).message}`);
        }
        if (typeof schema.$id !== 'string' || schema.$id === '') {
          throw new DataSchemaLoadError(
            `${path}: the schema needs an "$id" (a URI; it becomes the events' dataschema)`,
          );
        }
        let validate: ValidateFunction;
        try {
          validate = ajv.compile(schema);
        } catch (error) {
          throw new DataSchemaLoadError(`${path}: ${(error as Error).message}`);
        }
        compiled.push({ type, version: Number(match[1]), id: schema.$id, schema, validate });
      }
    }
    return new DataSchemas(compiled);
  }

  /** Every schema, by type then version. */
  list(): DataSchema[] {
    return [...this.byType.values()].flat().map(({ type, version, id, schema }) => ({ type, version, id, schema }));
  }

  /** The newest schema of each type. */
  latest(): DataSchema[] {
    return [...this.byType.values()].map((versions) => versions[versions.length - 1]!);
  }

  /**
   * Checks an event's data against the schema of its type (the version its `dataschema` names,
   * else the newest) and sets `dataschema` to that schema's `$id`. Failures are appended to
   * `errors`, pointing into the request body: `at.pointer + /data/...`, or into the body itself
   * in binary mode. A type without a schema passes unless `required`.
   */
  check(event: CloudEvent, at: ItemLocation, { required, errors }: { required: boolean; errors: FieldError[] }): void {
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
      return;
    }
    let schema = versions[versions.length - 1]!;
    if (event.dataschema !== undefined) {
      const named = versions.find((candidate) => candidate.id === event.dataschema);
      if (!named) {
        const known = versions.map((candidate) => candidate.id).join(', ');
        errors.push(attributeError('dataschema', `is not a schema of type ${event.type}; known: ${known}`));
        return;
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
      return;
    }
    // An event without data is checked as null, so a schema that wants an object refuses it.
    if (!schema.validate(event.data ?? null)) {
      for (const error of schema.validate.errors ?? []) {
        errors.push({
          ...(at.index !== undefined ? { index: at.index } : {}),
          pointer: dataPointer + pointerOfError(error),
          message: error.message ?? 'is invalid',
        });
      }
      return;
    }
    event.dataschema = schema.id;
  }
}

/** Ajv points a missing property at its parent; point at the property itself. */
function pointerOfError(error: ErrorObject): string {
  const missing = (error.params as { missingProperty?: unknown }).missingProperty;
  return error.keyword === 'required' && typeof missing === 'string'
    ? error.instancePath + pointerOf([missing])
    : error.instancePath;
}
