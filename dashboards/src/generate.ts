// npm run monitoring:generate: writes dashboards/generated/<uid>.json, which Grafana provisions, and
// the Prometheus rules (observability/prometheus/rules/). With --check it writes nothing and
// fails, naming the files, when they differ from the code.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { dashboards } from './index';
import { renderRules, RULES_FILE } from './rules-file';

export const GENERATED_DIR = path.resolve(__dirname, '..', 'generated');

/** Object keys sorted at every depth: the file does not change with the order of builder calls. */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortedKeys((value as Record<string, unknown>)[key])]),
  );
}

export function renderDashboard(board: dashboard.Dashboard): string {
  return `${JSON.stringify(sortedKeys(board), null, 2)}\n`;
}

/** File name to content, for every dashboard. */
export function generatedFiles(list: dashboard.Dashboard[] = dashboards): Map<string, string> {
  const files = new Map<string, string>();
  for (const board of list) {
    if (!board.uid) throw new Error(`dashboard "${board.title}" has no uid; give it a stable one`);
    const name = `${board.uid}.json`;
    if (files.has(name)) throw new Error(`two dashboards have the uid "${board.uid}"`);
    files.set(name, renderDashboard(board));
  }
  return files;
}

function committedNames(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.json')) : [];
}

/** Files in `dir` that differ from the code, are missing, or belong to no dashboard any more. */
export function staleFiles(dir = GENERATED_DIR, files = generatedFiles()): string[] {
  const stale = [...files]
    .filter(
      ([name, content]) => !existsSync(path.join(dir, name)) || readFileSync(path.join(dir, name), 'utf8') !== content,
    )
    .map(([name]) => name);
  const orphans = committedNames(dir).filter((name) => !files.has(name));
  return [...stale, ...orphans].sort();
}

function write(dir = GENERATED_DIR, files = generatedFiles()): void {
  mkdirSync(dir, { recursive: true });
  for (const name of committedNames(dir)) if (!files.has(name)) rmSync(path.join(dir, name));
  for (const [name, content] of files) writeFileSync(path.join(dir, name), content);
}

function rulesStale(): boolean {
  return !existsSync(RULES_FILE) || readFileSync(RULES_FILE, 'utf8') !== renderRules();
}

if (require.main === module) {
  const relative = path.relative(process.cwd(), GENERATED_DIR);
  const rules = path.relative(process.cwd(), RULES_FILE);
  if (process.argv.includes('--check')) {
    const stale = [...staleFiles().map((name) => path.join(relative, name)), ...(rulesStale() ? [rules] : [])];
    if (stale.length > 0) {
      process.stderr.write(
        `monitoring: stale: ${stale.join(', ')}; run \`npm run monitoring:generate\` and commit the result\n`,
      );
      process.exit(1);
    }
    process.stdout.write(`monitoring: ${relative} and ${rules} are up to date\n`);
  } else {
    write();
    writeFileSync(RULES_FILE, renderRules());
    process.stdout.write(`monitoring: wrote ${[...generatedFiles().keys()].join(', ')} to ${relative}, and ${rules}\n`);
  }
}
