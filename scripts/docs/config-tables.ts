// The configuration tables of docs/configuration.md, generated from the config schemas so they
// cannot drift: `npm run docs:config` rewrites them, and a unit test fails when they are stale.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describeConfig } from '../../common/src/config';
import { z } from 'zod';
import { consumerConfigSchema } from '../../consumer/src/config';
import { dlqOwnConfigShape } from '../../consumer/src/dlq/config';
import { producerConfigSchema } from '../../producer/src/config';

export const CONFIGURATION_DOC = path.resolve(__dirname, '../../docs/configuration.md');

// The dlq command's own variables only: it reads the consumer's too.
const schemas = { producer: producerConfigSchema, consumer: consumerConfigSchema, dlq: z.object(dlqOwnConfigShape) };

function formatDefault(value: unknown): string {
  if (value === undefined) return '';
  const text = Array.isArray(value) ? value.join(',') : String(value);
  return `\`${text}\``;
}

export function configTable(service: keyof typeof schemas): string {
  const rows = describeConfig(schemas[service]).map(
    ({ variable, description, default: fallback }) =>
      `| \`${variable}\` | ${formatDefault(fallback)} | ${description.replaceAll('|', '\\|')} |`,
  );
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

const markers = (service: string): [string, string] => [
  `<!-- config:${service}:start -->`,
  `<!-- config:${service}:end -->`,
];

/** The document with every generated table replaced by the current one (unformatted). */
export function replaceTables(doc: string): string {
  let result = doc;
  for (const service of Object.keys(schemas) as Array<keyof typeof schemas>) {
    const [start, end] = markers(service);
    const from = result.indexOf(start);
    const to = result.indexOf(end);
    if (from < 0 || to < from) throw new Error(`docs/configuration.md lacks the ${start} … ${end} markers`);
    result = `${result.slice(0, from + start.length)}\n${configTable(service)}\n${result.slice(to)}`;
  }
  return result;
}

/** A table's rows with the cells trimmed, so prettier's column padding does not count. */
export function tableRows(markdown: string, service: string): string[] {
  const [start, end] = markers(service);
  return markdown
    .slice(markdown.indexOf(start), markdown.indexOf(end))
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) =>
      line
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim().replace(/^-+$/, '---'))
        .join('|'),
    );
}

export const SERVICES = Object.keys(schemas) as Array<keyof typeof schemas>;

async function writeTables(): Promise<void> {
  // Loaded here, not at the top: prettier's entry does a dynamic import jest cannot run.
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(CONFIGURATION_DOC)) ?? {};
  const doc = replaceTables(readFileSync(CONFIGURATION_DOC, 'utf8'));
  writeFileSync(CONFIGURATION_DOC, await prettier.format(doc, { ...options, filepath: CONFIGURATION_DOC }));
}

if (require.main === module) {
  void writeTables().then(() => console.log('docs/configuration.md: configuration tables written'));
}
