// `npm run schemas:push` and `schemas:check` (and compose's one-shot schemas-push, from the
// producer image): the schema folder against the registry.
// Subject naming: one subject per event type, named as the type (e.g. com.example.order.created);
// an Avro schema's record full name must be the type too, so the subject is also what Confluent's
// RecordNameStrategy gives, and Confluent clients find it. schemas/README.md says why.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  errorMessage,
  type SchemaRegistryClient,
  SchemaRegistryRefusedError,
  type SchemaFormat,
} from '@event-pipeline/common';
import { readSchemaFolder, type SchemaFile } from './events/data-schemas';

export const COMPATIBILITY_LEVELS = [
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
  'NONE',
] as const;
export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number];
export const DEFAULT_COMPATIBILITY: CompatibilityLevel = 'BACKWARD';
/** Beside the type folders: `{ "<type>": "<level>" }` for the types that differ from BACKWARD. */
export const COMPATIBILITY_FILE = 'compatibility.json';

/** A type of the schema folder with its versions, oldest first, and its compatibility level. */
export interface SchemaSubject {
  subject: string;
  format: SchemaFormat;
  compatibility: CompatibilityLevel;
  versions: SchemaFile[];
}

/** Reads and checks the schema folder; throws naming the file at fault. */
export function readSubjects(dir: string): SchemaSubject[] {
  const files = readSchemaFolder(dir);
  const levels = readCompatibility(dir);
  const byType = new Map<string, SchemaFile[]>();
  for (const file of files) byType.set(file.type, [...(byType.get(file.type) ?? []), file]);
  for (const type of Object.keys(levels)) {
    if (!byType.has(type)) throw new Error(`${path.join(dir, COMPATIBILITY_FILE)}: ${type} has no schema folder`);
  }
  return [...byType].map(([subject, versions]) => {
    for (const file of versions) if (file.format === 'avro') checkAvroName(file);
    return { subject, format: versions[0]!.format, compatibility: levels[subject] ?? DEFAULT_COMPATIBILITY, versions };
  });
}

function readCompatibility(dir: string): Record<string, CompatibilityLevel> {
  const file = path.join(dir, COMPATIBILITY_FILE);
  if (!existsSync(file)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: not JSON: ${errorMessage(error)}`, { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${file}: an object of event type to compatibility level`);
  }
  for (const [type, level] of Object.entries(parsed)) {
    if (!(COMPATIBILITY_LEVELS as readonly unknown[]).includes(level)) {
      throw new Error(`${file}: ${type}: "${String(level)}" is not one of ${COMPATIBILITY_LEVELS.join(', ')}`);
    }
  }
  return parsed as Record<string, CompatibilityLevel>;
}

/** The record's full name is the event type, so name-based strategies find the same subject. */
function checkAvroName(file: SchemaFile): void {
  const { type, name, namespace } = file.document;
  if (type !== 'record' || typeof name !== 'string') {
    throw new Error(`${file.path}: an event's Avro schema is a record (type "record" with a name)`);
  }
  const fullName = name.includes('.') ? name : typeof namespace === 'string' ? `${namespace}.${name}` : name;
  if (fullName !== file.type) {
    throw new Error(
      `${file.path}: the record's full name is ${fullName}; it must be the event type ${file.type} ` +
        `(e.g. "namespace": "${file.type.split('.').slice(0, -1).join('.')}", "name": "${file.type.split('.').pop()}")`,
    );
  }
}

export type Report = (line: string) => void;

/**
 * Registers every version of every type in order, after setting the subject's compatibility
 * level. A version the registry refuses (incompatible, invalid) stops the push with the
 * registry's own message; versions registered already are left as they are.
 */
export async function pushSchemas(
  client: SchemaRegistryClient,
  subjects: SchemaSubject[],
  report: Report,
): Promise<void> {
  for (const { subject, format, compatibility, versions } of subjects) {
    await client.setCompatibility(subject, compatibility);
    for (const file of versions) {
      const found = await client.lookup(subject, format, file.document);
      if (found) {
        report(`${subject} ${path.basename(file.path)}: registered already (id ${found.id}, version ${found.version})`);
        continue;
      }
      try {
        const id = await client.register(subject, format, file.document);
        report(`${subject} ${path.basename(file.path)}: registered (id ${id}, compatibility ${compatibility})`);
      } catch (error) {
        if (error instanceof SchemaRegistryRefusedError) {
          throw new Error(
            `${file.path}: the registry refused it (${error.registryStatus}, compatibility ${compatibility}): ${error.message}`,
            { cause: error },
          );
        }
        throw error;
      }
    }
  }
}

/**
 * Registers nothing: for each version the registry does not hold yet, asks its compatibility
 * endpoint whether it could be. Resolves with the problems found (none: all would push).
 */
export async function checkSchemas(
  client: SchemaRegistryClient,
  subjects: SchemaSubject[],
  report: Report,
): Promise<string[]> {
  const problems: string[] = [];
  for (const { subject, format, compatibility, versions } of subjects) {
    const level = (await client.compatibility(subject)) ?? '(registry default)';
    if (level !== compatibility)
      report(`${subject}: compatibility is ${level} in the registry; push sets ${compatibility}`);
    for (const file of versions) {
      const name = `${subject} ${path.basename(file.path)}`;
      const found = await client.lookup(subject, format, file.document);
      if (found) {
        report(`${name}: registered (id ${found.id}, version ${found.version})`);
        continue;
      }
      if (await client.isCompatible(subject, format, file.document)) {
        report(`${name}: not registered yet; compatible, push would register it`);
      } else {
        const problem = `${file.path}: not compatible with the registered versions of ${subject} (compatibility ${level})`;
        problems.push(problem);
        report(problem);
      }
    }
  }
  return problems;
}
