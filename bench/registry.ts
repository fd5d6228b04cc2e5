// The schema registry the bench's scenarios of registered types run against: Apicurio in memory,
// in a folder made anew, with the repository's schemas/ pushed, as compose's schemas-push does.
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { SchemaRegistryClient } from '../common/src/index';
import { pushSchemas, readSubjects } from '../producer/src/schemas-registration';
import { startRegistry, type RunningRegistry } from '../scripts/registry/registry';

/** Starts it in `dir` (emptied first) and pushes schemas/; stop it with stopRegistry(dir). */
export async function startBenchRegistry(dir: string, port: number, managementPort: number): Promise<RunningRegistry> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const registry = await startRegistry({ dir, port, managementPort, storage: { kind: 'memory' } });
  const client = new SchemaRegistryClient({ url: registry.url, timeoutMs: 10_000 });
  await pushSchemas(client, readSubjects(path.join(__dirname, '..', 'schemas')), () => undefined);
  return registry;
}
