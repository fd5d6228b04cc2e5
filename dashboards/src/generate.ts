// npm run monitoring:generate: writes dashboards/generated/<uid>.json, which Grafana provisions, the
// Prometheus rules (observability/prometheus/rules/), and the Helm chart's copies of both
// (deploy/helm/event-pipeline/dashboards/ and rules/). With --check it writes nothing and fails,
// naming the files, when they differ from the code.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { dashboards } from './index';
import { CHART_RULES_FILE, renderRules, RULES_FILE } from './rules-file';

export const GENERATED_DIR = path.resolve(__dirname, '..', 'generated');
/** The chart's copy of the dashboards, which it ships as ConfigMaps for Grafana's sidecar. */
export const CHART_DASHBOARDS_DIR = path.resolve(__dirname, '../../deploy/helm/event-pipeline/dashboards');

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

const DASHBOARD_DIRS = [GENERATED_DIR, CHART_DASHBOARDS_DIR];
const RULES_FILES = [RULES_FILE, CHART_RULES_FILE];

/** Every generated file that differs from the code, is missing or is an orphan, relative to `from`. */
export function staleOutputs(from = process.cwd()): string[] {
  const files = generatedFiles();
  const rules = renderRules();
  return [
    ...DASHBOARD_DIRS.flatMap((dir) => staleFiles(dir, files).map((name) => path.join(dir, name))),
    ...RULES_FILES.filter((file) => !existsSync(file) || readFileSync(file, 'utf8') !== rules),
  ].map((file) => path.relative(from, file));
}

if (require.main === module) {
  if (process.argv.includes('--check')) {
    const stale = staleOutputs();
    if (stale.length > 0) {
      process.stderr.write(
        `monitoring: stale: ${stale.join(', ')}; run \`npm run monitoring:generate\` and commit the result\n`,
      );
      process.exit(1);
    }
    process.stdout.write("monitoring: the dashboards and rules (and the chart's copies) are up to date\n");
  } else {
    const files = generatedFiles();
    for (const dir of DASHBOARD_DIRS) write(dir, files);
    for (const file of RULES_FILES) {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, renderRules());
    }
    const written = [...DASHBOARD_DIRS, ...RULES_FILES].map((file) => path.relative(process.cwd(), file));
    process.stdout.write(`monitoring: wrote ${[...files.keys()].join(', ')} and the rules to ${written.join(', ')}\n`);
  }
}
