import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RELIABILITY_CACHE } from './cluster';

/** One scenario's accounting: of the events that got a 2xx, how many were processed, lost, processed twice. */
export interface ScenarioResult {
  name: string;
  passed: boolean;
  /** Distinct events that got a 2xx. */
  accepted: number;
  /** Of those, processed (or dead-lettered, for poison events) at least once. */
  consumed: number;
  /** Accepted and never processed. */
  lost: number;
  /** Processed more than once (allowed by at-least-once, reported). */
  duplicated: number;
  /** What else the scenario saw: statuses, latencies, the fault. */
  details?: string;
}

export interface ReliabilityResults {
  scenarios: ScenarioResult[];
}

export const ROWS_DIR = path.join(RELIABILITY_CACHE, 'rows');
export const CACHED_RESULTS = path.join(RELIABILITY_CACHE, 'results.json');

/** Each scenario leaves its row here; the teardown and `npm run test:reliability` compose them. */
export async function writeRow(result: ScenarioResult): Promise<void> {
  await mkdir(ROWS_DIR, { recursive: true });
  const file = result.name.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase();
  await writeFile(path.join(ROWS_DIR, `${file}.json`), `${JSON.stringify(result, null, 2)}\n`);
}

/** The rows written in this run, in scenario order (names start with their number), into .cache. */
export async function composeResults(): Promise<ReliabilityResults> {
  const files = (await readdir(ROWS_DIR).catch(() => [] as string[])).filter((file) => file.endsWith('.json'));
  const scenarios = await Promise.all(
    files.map(async (file) => JSON.parse(await readFile(path.join(ROWS_DIR, file), 'utf8')) as ScenarioResult),
  );
  scenarios.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  const results = { scenarios };
  await mkdir(RELIABILITY_CACHE, { recursive: true });
  await writeFile(CACHED_RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  return results;
}

export function printTable({ scenarios }: ReliabilityResults): string {
  const header = ['scenario', 'passed', 'accepted', 'consumed', 'lost', 'duplicated'];
  const rows = scenarios.map((row) => [
    row.name,
    row.passed ? 'yes' : 'NO',
    String(row.accepted),
    String(row.consumed),
    String(row.lost),
    String(row.duplicated),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (column === 0 ? '-'.repeat(width + 2) : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}
