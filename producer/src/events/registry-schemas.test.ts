import {
  createLogger,
  createMetricsRegistry,
  createSchemaRegistryMetrics,
  SchemaNotFoundError,
  SchemaRegistryRefusedError,
  type SchemaRegistryClient,
} from '@event-pipeline/common';
import { RegistrySchemas } from './registry-schemas';

/** A registry of `subjects`, each with one JSON Schema version, that counts calls and how many run at once. */
function fakeRegistry(subjects: string[], refuse: ReadonlySet<string> = new Set()) {
  const calls = { subjects: 0, versions: 0, version: 0, concurrent: 0, mostConcurrent: 0 };
  const slow = async <T>(value: () => T): Promise<T> => {
    calls.concurrent++;
    calls.mostConcurrent = Math.max(calls.mostConcurrent, calls.concurrent);
    await new Promise((resolve) => setTimeout(resolve, 5));
    calls.concurrent--;
    return value();
  };
  const client = {
    schemaUrl: (id: number) => `http://registry/schemas/ids/${id}`,
    subjects: () => slow(() => (calls.subjects++, [...subjects])),
    versions: (subject: string) =>
      slow(() => {
        calls.versions++;
        if (refuse.has(subject)) throw new SchemaRegistryRefusedError('invalid artifact id', 400, 40001);
        if (!subjects.includes(subject)) throw new SchemaNotFoundError(`no subject ${subject}`);
        return [1];
      }),
    version: (subject: string) =>
      slow(() => {
        calls.version++;
        return {
          subject,
          version: 1,
          id: subjects.indexOf(subject) + 1,
          format: 'json' as const,
          document: { type: 'object' },
        };
      }),
  } as unknown as SchemaRegistryClient;
  const metrics = createSchemaRegistryMetrics(createMetricsRegistry());
  const schemas = new RegistrySchemas({
    client,
    metrics,
    logger: createLogger({ service: 'test', level: 'silent' }),
    refreshMs: 60_000,
  });
  return { schemas, calls };
}

describe('the event schemas from the registry', () => {
  it('answers a request of 1,000 unknown types from one read of the subject list, with no look-up per type', async () => {
    const { schemas, calls } = fakeRegistry(['a', 'b']);
    const types = new Set(Array.from({ length: 1000 }, (_, index) => `junk.${index}`));
    const found = await schemas.forTypes(new Set([...types, 'a']));
    expect(found.latest().map((schema) => schema.type)).toEqual(['a', 'b']);
    expect(calls).toMatchObject({ subjects: 1, versions: 2, version: 2 });
    await schemas.forTypes(new Set(Array.from({ length: 1000 }, (_, index) => `more.${index}`)));
    expect(calls).toMatchObject({ subjects: 1, versions: 2, version: 2 });
  });

  it('looks subjects up at most four at a time', async () => {
    const { schemas, calls } = fakeRegistry(Array.from({ length: 40 }, (_, index) => `type.${index}`));
    await schemas.refresh();
    expect(calls.versions).toBe(40);
    expect(calls.mostConcurrent).toBe(4);
  });

  it('takes a subject name the registry refuses for a type without a schema, not a failure', async () => {
    const { schemas } = fakeRegistry(['.', 'ok'], new Set(['.']));
    const found = await schemas.forTypes(new Set(['.', 'ok']));
    expect(found.latest().map((schema) => schema.type)).toEqual(['ok']);
  });
});
