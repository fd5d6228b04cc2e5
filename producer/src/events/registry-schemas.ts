import {
  errorMessage,
  SchemaNotFoundError,
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
  /** Every known type, and the list of subjects, is looked up again this often: the bound on seeing a new version. */
  refreshMs: number;
  /** Types found without a subject that are remembered (each until the next refresh). */
  maxUnknownTypes?: number;
}

/** A type as last seen in the registry: its versions, oldest first; none when it has no subject. */
interface TypeEntry {
  versions: CompiledSchema[];
}

/**
 * The event schemas, from the registry: one subject per event type. A type is looked up the
 * first time an event of it comes (a miss) and kept (later events are hits, with no call);
 * every `refreshMs` a background pass lists the subjects and looks up every known type again,
 * so a new version or a new type is seen within that bound. When the registry cannot be
 * reached, the types already known keep their schemas, and a type not known yet cannot be
 * checked: forTypes throws SchemaRegistryUnavailableError (the API answers 503).
 */
export class RegistrySchemas implements SchemaCatalog {
  private readonly client: SchemaRegistryClient;
  private readonly metrics: SchemaRegistryMetrics;
  private readonly log: Logger;
  private readonly refreshMs: number;
  private readonly maxUnknownTypes: number;
  private readonly types = new Map<string, TypeEntry>();
  private readonly pending = new Map<string, Promise<TypeEntry>>();
  /** One compiler for the process: a compiled version is kept by its registry id. */
  private readonly ajv: Ajv2020 = createSchemaCompiler();
  private readonly compiled = new Map<number, CompiledSchema>();
  private snapshot = DataSchemas.empty();
  private listed = false;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;

  constructor({ client, metrics, logger, refreshMs, maxUnknownTypes = 10_000 }: RegistrySchemasOptions) {
    this.client = client;
    this.metrics = metrics;
    this.log = logger.child({ component: 'schema-registry' });
    this.refreshMs = refreshMs;
    this.maxUnknownTypes = maxUnknownTypes;
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
    const missing: string[] = [];
    for (const type of types) {
      if (this.types.has(type)) this.metrics.lookups.inc({ outcome: 'hit' });
      else missing.push(type);
    }
    if (missing.length > 0) {
      await Promise.all(
        missing.map(async (type) => {
          try {
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

  /** One pass: the list of subjects, then every subject and every type known. Never throws. */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const subjects = await this.client.subjects();
        const all = new Set([...subjects, ...this.types.keys()]);
        await Promise.all([...all].map((type) => this.lookUp(type)));
        this.listed = true;
      } catch (error) {
        this.log.warn({ err: errorMessage(error) }, 'schema registry refresh failed; known schemas stay in use');
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  /** Looks a type up in the registry (one call at a time per type) and keeps what it found. */
  private lookUp(type: string): Promise<TypeEntry> {
    let lookup = this.pending.get(type);
    if (!lookup) {
      lookup = this.fetchType(type)
        .then((entry) => {
          this.keep(type, entry);
          return entry;
        })
        .finally(() => this.pending.delete(type));
      this.pending.set(type, lookup);
    }
    return lookup;
  }

  private async fetchType(type: string): Promise<TypeEntry> {
    let numbers: number[];
    try {
      numbers = await this.client.versions(type);
    } catch (error) {
      if (error instanceof SchemaNotFoundError) return { versions: [] };
      throw error;
    }
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

  private keep(type: string, entry: TypeEntry): void {
    const before = this.types.get(type);
    if (entry.versions.length === 0 && !before) {
      // Types without a schema are remembered too, so their events cost no call; boundedly.
      if ([...this.types.values()].filter((known) => known.versions.length === 0).length >= this.maxUnknownTypes) {
        for (const [name, known] of this.types) {
          if (known.versions.length === 0) {
            this.types.delete(name);
            break;
          }
        }
      }
    }
    this.types.set(type, entry);
    const changed =
      !before ||
      before.versions.length !== entry.versions.length ||
      before.versions.some((schema, index) => schema !== entry.versions[index]);
    if (!changed) return;
    if (entry.versions.length > 0) {
      const latest = entry.versions[entry.versions.length - 1]!;
      this.log.info(
        { subject: type, version: latest.version, schema_id: latest.registryId, format: latest.format },
        'schema in use',
      );
    }
    this.snapshot = new DataSchemas([...this.types.values()].flatMap((known) => known.versions));
  }
}
