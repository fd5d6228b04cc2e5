import {
  errorMessage,
  SchemaNotFoundError,
  SchemaRegistryRefusedError,
  SchemaRegistryUnavailableError,
  type Logger,
  type RegisteredSchema,
  type SchemaRegistryClient,
  type SchemaRegistryMetrics,
} from '@event-pipeline/common';
import type { Ajv2020 } from 'ajv/dist/2020';
import {
  compileAvroSchema,
  compileJsonSchema,
  createSchemaCompiler,
  DataSchemas,
  type CompiledSchema,
  type SchemaCatalog,
} from './data-schemas';

export interface RegistrySchemasOptions {
  client: SchemaRegistryClient;
  metrics: SchemaRegistryMetrics;
  logger: Logger;
  /** The list of subjects, and every subject in it, is read again this often: the bound on seeing a new type or version. */
  refreshMs: number;
  /** Registry calls under way at once for the look-ups of subjects (the list itself is one call). */
  maxConcurrentLookups?: number;
}

/** A type with a subject, as last seen in the registry: its versions, oldest first. */
interface TypeEntry {
  versions: CompiledSchema[];
}

/**
 * The event schemas, from the registry: one subject per event type. Which types have a schema
 * is answered from the registry's list of subjects, read once per pass: a type not in it has
 * none, with no call, however many such types clients send (and whatever name: a name the
 * registry would refuse is never sent to it). Every `refreshMs` a background pass reads the list
 * and looks up the subjects in it, a few at a time, so a new type or version is seen within
 * that bound. When the registry cannot be reached, the types already known keep their schemas;
 * while the list cannot be read, a type not known cannot be checked: forTypes throws
 * SchemaRegistryUnavailableError (the API answers 503).
 */
export class RegistrySchemas implements SchemaCatalog {
  private readonly client: SchemaRegistryClient;
  private readonly metrics: SchemaRegistryMetrics;
  private readonly log: Logger;
  private readonly refreshMs: number;
  private readonly types = new Map<string, TypeEntry>();
  private readonly pending = new Map<string, Promise<TypeEntry | undefined>>();
  private readonly limit: <T>(work: () => Promise<T>) => Promise<T>;
  /** One compiler for the process: a compiled version is kept by its registry id. */
  private readonly ajv: Ajv2020 = createSchemaCompiler();
  private readonly compiled = new Map<number, CompiledSchema>();
  private snapshot = DataSchemas.empty();
  /** The subjects the last pass listed; undefined while the list could not be read. */
  private subjects: ReadonlySet<string> | undefined;
  private listed = false;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;

  constructor({ client, metrics, logger, refreshMs, maxConcurrentLookups = 4 }: RegistrySchemasOptions) {
    this.client = client;
    this.metrics = metrics;
    this.log = logger.child({ component: 'schema-registry' });
    this.refreshMs = refreshMs;
    this.limit = concurrencyLimit(maxConcurrentLookups);
  }

  /** Starts the background refresh, with a first pass now (not waited for). */
  start(): void {
    if (this.timer) return;
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async forTypes(types: ReadonlySet<string>): Promise<DataSchemas> {
    const unknown = [...types].filter((type) => !this.types.has(type));
    // The list is read again (one call, shared by concurrent requests) only while it is not known.
    if (unknown.length > 0 && this.subjects === undefined) await this.refresh();
    const subjects = this.subjects;
    const missing: string[] = [];
    for (const type of types) {
      if (this.types.has(type) || (subjects !== undefined && !subjects.has(type))) {
        this.metrics.lookups.inc({ outcome: 'hit' });
      } else missing.push(type);
    }
    if (missing.length > 0) {
      await Promise.all(
        missing.map(async (type) => {
          try {
            if (subjects === undefined) {
              throw new SchemaRegistryUnavailableError(
                'the list of subjects could not be read from the schema registry',
              );
            }
            // Listed but not looked up yet: the pass that listed it is looking it up now.
            await this.lookUp(type);
            this.metrics.lookups.inc({ outcome: 'miss' });
          } catch (error) {
            this.metrics.lookups.inc({ outcome: 'error' });
            throw error;
          }
        }),
      );
    }
    return this.snapshot;
  }

  /** What the registry holds, as of the last pass; the first call waits for one. */
  async current(): Promise<DataSchemas> {
    if (!this.listed) await this.refresh();
    if (!this.listed) {
      throw new SchemaRegistryUnavailableError('the schema registry has not been reached yet; its schemas are unknown');
    }
    return this.snapshot;
  }

  /** One pass: the list of subjects, then every subject in it. Never throws. */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        let listed: string[];
        try {
          listed = await this.client.subjects();
        } catch (error) {
          this.subjects = undefined;
          throw error;
        }
        this.subjects = new Set(listed);
        this.forgetUnlisted(this.subjects);
        const failures = (await Promise.allSettled(listed.map((type) => this.lookUp(type)))).filter(
          (result) => result.status === 'rejected',
        );
        if (failures.length > 0) throw failures[0]!.reason;
        this.listed = true;
      } catch (error) {
        this.log.warn({ err: errorMessage(error) }, 'schema registry refresh failed; known schemas stay in use');
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  /** Looks a subject up in the registry (one call at a time per subject, a few subjects at once) and keeps what it found. */
  private lookUp(type: string): Promise<TypeEntry | undefined> {
    let lookup = this.pending.get(type);
    if (!lookup) {
      lookup = this.limit(() => this.fetchType(type))
        .then((entry) => {
          this.keep(type, entry);
          return entry;
        })
        .finally(() => this.pending.delete(type));
      this.pending.set(type, lookup);
    }
    return lookup;
  }

  /** Types whose subject is gone (deleted in the registry) are schema-less from now on. */
  private forgetUnlisted(subjects: ReadonlySet<string>): void {
    let changed = false;
    for (const type of this.types.keys()) {
      if (!subjects.has(type)) changed = this.types.delete(type) || changed;
    }
    if (changed) this.snapshot = new DataSchemas([...this.types.values()].flatMap((known) => known.versions));
  }

  /** The versions of a subject; undefined when it has none (deleted since it was listed, or a name the registry refuses). */
  private async fetchType(type: string): Promise<TypeEntry | undefined> {
    let numbers: number[];
    try {
      numbers = await this.client.versions(type);
    } catch (error) {
      if (error instanceof SchemaNotFoundError) return undefined;
      if (error instanceof SchemaRegistryRefusedError) {
        // A refusal of the name is an answer about it, not an outage: the type has no schema.
        this.log.warn({ subject: type, err: errorMessage(error) }, 'schema registry refused a subject name');
        return undefined;
      }
      throw error;
    }
    if (numbers.length === 0) return undefined;
    const known = new Map((this.types.get(type)?.versions ?? []).map((schema) => [schema.version, schema]));
    const versions: CompiledSchema[] = [];
    for (const number of numbers) {
      const cached = known.get(number);
      if (cached) {
        versions.push(cached);
        continue;
      }
      const compiled = await this.compile(await this.client.version(type, number));
      if (compiled) versions.push(compiled);
    }
    return { versions };
  }

  private async compile(registered: RegisteredSchema): Promise<CompiledSchema | undefined> {
    const existing = this.compiled.get(registered.id);
    if (existing && existing.type === registered.subject && existing.version === registered.version) return existing;
    const base = {
      type: registered.subject,
      version: registered.version,
      id: this.client.schemaUrl(registered.id),
      format: registered.format,
      schema: registered.document,
      registryId: registered.id,
    };
    let compiled: CompiledSchema;
    try {
      if (registered.format === 'avro') {
        const type = await this.client.avroType(registered.id);
        compiled = compileAvroSchema(base, type, (data) => this.client.encode(registered.id, data));
      } else {
        // A JSON Schema keeps its own $id as a name a client may give as dataschema; the
        // compiler knows it by the registry's URL, which is unique per version.
        const ownId = registered.document.$id;
        const { $id: _ownId, ...document } = registered.document;
        compiled = compileJsonSchema(
          this.ajv,
          { ...base, schema: { $id: base.id, ...document } },
          typeof ownId === 'string' ? [ownId] : [],
        );
        compiled.schema = registered.document;
      }
    } catch (error) {
      if (error instanceof SchemaRegistryUnavailableError) throw error;
      this.log.error(
        { subject: registered.subject, version: registered.version, err: errorMessage(error) },
        'registered schema cannot be used; its type is checked against the other versions',
      );
      return undefined;
    }
    this.compiled.set(registered.id, compiled);
    return compiled;
  }

  private keep(type: string, entry: TypeEntry | undefined): void {
    const before = this.types.get(type);
    if (entry === undefined) {
      if (before && this.types.delete(type)) {
        this.snapshot = new DataSchemas([...this.types.values()].flatMap((known) => known.versions));
      }
      return;
    }
    this.types.set(type, entry);
    const changed =
      !before ||
      before.versions.length !== entry.versions.length ||
      before.versions.some((schema, index) => schema !== entry.versions[index]);
    if (!changed) return;
    const latest = entry.versions[entry.versions.length - 1];
    if (latest) {
      this.log.info(
        { subject: type, version: latest.version, schema_id: latest.registryId, format: latest.format },
        'schema in use',
      );
    }
    this.snapshot = new DataSchemas([...this.types.values()].flatMap((known) => known.versions));
  }
}

/** Runs at most `max` pieces of work at once; the rest wait their turn in order. */
function concurrencyLimit(max: number): <T>(work: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (work) => {
    // A finished piece of work hands its slot straight to the next in line, so none is taken twice.
    if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
