// npm run schemas:push | schemas:check [-- --dir <folder>] (in the image: node dist/schemas-cli.js
// push): the schema folder (SCHEMAS_DIR, default the repository's schemas/) against the registry
// at SCHEMA_REGISTRY_URL (default: the local stack's, http://localhost:8081/apis/ccompat/v7),
// each call bounded by SCHEMA_REGISTRY_TIMEOUT_MS: the producer's settings, read as it reads them.
// Exit 1, with the registry's reason, when a version is refused or would be.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createMetricsRegistry, errorMessage, parseConfig, schemaRegistryOf } from '@event-pipeline/common';
import { schemasCliConfigSchema } from './config';
import { checkSchemas, pushSchemas, readSubjects } from './schemas-registration';
import { DEFAULT_SCHEMAS_DIR } from './service';

const DEFAULT_URL = 'http://localhost:8081/apis/ccompat/v7';

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { dir: { type: 'string' }, url: { type: 'string' } },
  });
  const command = positionals[0];
  if (command !== 'push' && command !== 'check') {
    process.stderr.write('usage: schemas push|check [--dir <schema folder>] [--url <registry Confluent API URL>]\n');
    return 2;
  }
  // A flag stands for its variable, and is checked as the variable is.
  const config = parseConfig(schemasCliConfigSchema, {
    ...process.env,
    ...(values.dir === undefined ? {} : { SCHEMAS_DIR: values.dir }),
    ...(values.url === undefined ? {} : { SCHEMA_REGISTRY_URL: values.url }),
  });
  const dir = path.resolve(config.SCHEMAS_DIR ?? DEFAULT_SCHEMAS_DIR);
  const url = config.SCHEMA_REGISTRY_URL ?? DEFAULT_URL;
  const { client } = schemaRegistryOf({ ...config, SCHEMA_REGISTRY_URL: url }, createMetricsRegistry());
  const report = (line: string): void => void process.stdout.write(`${line}\n`);
  const subjects = readSubjects(dir);
  if (command === 'push') {
    await pushSchemas(client, subjects, report);
    report(`schemas: ${subjects.length} subject(s) pushed to ${url}`);
    return 0;
  }
  const problems = await checkSchemas(client, subjects, report);
  if (problems.length > 0) {
    process.stderr.write(`schemas: ${problems.length} version(s) the registry would refuse\n`);
    return 1;
  }
  report(`schemas: ${subjects.length} subject(s) checked against ${url}; all compatible`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`schemas: ${errorMessage(error)}\n`);
    process.exit(1);
  },
);
