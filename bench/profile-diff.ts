// Where the CPU of one profiled scenario goes beyond another's, per event: after
// `npm run bench -- --profile`, e.g. what tracing adds to a one-event request:
//   bash scripts/with-node.sh tsx bench/profile-diff.ts single-200B-notel single-200B [rows]
// Each function's self time is scaled to the CPU per event measured outside the profiler
// (bench/results/profile.json), so the rows are microseconds per event, not profiler time.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { diffProfiles, readProfile } from './profile';
import type { ProfiledScenario } from './report';

const REPO_ROOT = path.resolve(__dirname, '..');

function main(): void {
  const [from, to, rows = '30'] = process.argv.slice(2);
  if (!from || !to) throw new Error('usage: profile-diff.ts <scenario> <scenario> [rows]');
  const profiled = JSON.parse(
    readFileSync(path.join(REPO_ROOT, 'bench', 'results', 'profile.json'), 'utf8'),
  ) as ProfiledScenario[];
  const side = (name: string) => {
    const found = profiled.find((each) => each.scenario === name);
    if (!found) throw new Error(`no profiled scenario '${name}' in bench/results/profile.json`);
    if (found.cpuMsPerEvent === null) throw new Error(`'${name}' has no CPU per event`);
    return {
      profile: readProfile(path.join(REPO_ROOT, found.file)),
      cpuMsPerEvent: found.cpuMsPerEvent,
      skipMs: found.skipMs ?? 0,
    };
  };
  const [a, b] = [side(from), side(to)];
  console.log(
    `${from}: ${(a.cpuMsPerEvent * 1000).toFixed(1)} µs per event; ${to}: ${(b.cpuMsPerEvent * 1000).toFixed(1)}`,
  );
  console.log('  change   before    after  function (µs of CPU per event)');
  for (const row of diffProfiles(a, b).slice(0, Number(rows))) {
    const change = row.after - row.before;
    console.log(
      `${change.toFixed(2).padStart(8)} ${row.before.toFixed(2).padStart(8)} ${row.after.toFixed(2).padStart(8)}  ${row.name}`,
    );
  }
}

main();
