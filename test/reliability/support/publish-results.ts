// Run by `npm run test:reliability` after jest: the rows of this run become
// test/reliability/results.json and a table (printed, and in docs/reliability.md), and the run
// fails unless all twelve scenarios ran, all passed, and none lost an event.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { composeResults, printTable } from './results';

const RESULTS_FILE = path.resolve(__dirname, '..', 'results.json');
const DOC = path.resolve(__dirname, '../../../docs/reliability.md');
const DOC_MARKERS = /(<!-- results:start -->\n)[^]*?(<!-- results:end -->)/;
const MIN_SCENARIOS = 12;

async function main(): Promise<void> {
  const results = await composeResults();
  await writeFile(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  const doc = await readFile(DOC, 'utf8');
  await writeFile(
    DOC,
    doc.replace(DOC_MARKERS, (_, start: string, end: string) => `${start}\n${printTable(results)}\n\n${end}`),
  );
  console.info(`\n${printTable(results)}\n\nwritten to ${path.relative(process.cwd(), RESULTS_FILE)}`);
  const problems = [
    ...(results.scenarios.length < MIN_SCENARIOS
      ? [`only ${results.scenarios.length} scenario(s) ran, ${MIN_SCENARIOS} at least are needed`]
      : []),
    ...results.scenarios.filter((row) => !row.passed).map((row) => `${row.name}: failed`),
    ...results.scenarios.filter((row) => row.lost > 0).map((row) => `${row.name}: ${row.lost} accepted event(s) lost`),
  ];
  if (problems.length > 0) {
    console.error(`reliability: ${problems.join('; ')}`);
    process.exit(1);
  }
}

void main();
