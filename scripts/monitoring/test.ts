// npm run monitoring:test: the fast loop for the dashboards, the alert rules and the Alertmanager
// config, without a broker: the generated files are current, promtool accepts the Prometheus
// config and the rules and passes the rules' unit tests, amtool accepts the Alertmanager config.
// Every step runs, each says ok or FAILED with the tool's output; the exit code is 1 if any failed.
// `--skip generate` leaves a step out (npm test does: its unit tests check the generated files).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { staleOutputs } from '../../dashboards/src/generate';
import { ensureGoCommand } from '../tools/go-tools';

const ROOT = path.resolve(__dirname, '..', '..');
const PROMETHEUS_DIR = path.join(ROOT, 'observability', 'prometheus');

interface Outcome {
  ok: boolean;
  /** What the step printed; shown when it failed. */
  output: string;
}

interface Step {
  name: string;
  /** How to run it by hand. */
  command: string;
  run(): Outcome;
}

function relative(file: string): string {
  return path.relative(process.cwd(), file) || '.';
}

function filesIn(dir: string, suffix: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith(suffix))
    .sort()
    .map((name) => path.join(dir, name));
}

/** A tool's run: ok on exit code 0 and, where given, when its output says so. */
function tool(program: string, args: string[], passed: (output: string) => boolean = () => true): Outcome {
  const result = spawnSync(program, args, { cwd: ROOT, encoding: 'utf8' });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`;
  return { ok: result.status === 0 && passed(output), output };
}

function steps(tools: { promtool: string; amtool: string }): Step[] {
  const rules = filesIn(path.join(PROMETHEUS_DIR, 'rules'), '.yml');
  const ruleTests = filesIn(path.join(PROMETHEUS_DIR, 'tests'), '.test.yml');
  const prometheusConfig = path.join(PROMETHEUS_DIR, 'prometheus.yml');
  const alertmanagerConfig = path.join(ROOT, 'observability', 'alertmanager', 'alertmanager.yml');
  const show = (files: string[]): string => files.map(relative).join(' ');
  return [
    {
      name: 'generate',
      command: 'npm run monitoring:generate -- --check',
      run() {
        const stale = staleOutputs();
        return stale.length === 0
          ? { ok: true, output: '' }
          : { ok: false, output: `stale: ${stale.join(', ')}; run \`npm run monitoring:generate\` and commit them\n` };
      },
    },
    {
      name: 'prometheus config',
      command: `promtool check config ${relative(prometheusConfig)}`,
      run: () => tool(tools.promtool, ['check', 'config', prometheusConfig]),
    },
    {
      name: 'rules',
      command: `promtool check rules ${show(rules)}`,
      run: () =>
        rules.length === 0
          ? { ok: false, output: 'no rule files\n' }
          : tool(tools.promtool, ['check', 'rules', ...rules]),
    },
    {
      name: 'rule tests',
      command: `promtool test rules ${show(ruleTests)}`,
      // promtool prints FAILED for a broken case; a file it could not read counts as no SUCCESS.
      run: () =>
        ruleTests.length === 0
          ? { ok: false, output: 'no rule test files\n' }
          : tool(
              tools.promtool,
              ['test', 'rules', ...ruleTests],
              (output) => !output.includes('FAILED') && (output.match(/SUCCESS/g) ?? []).length === ruleTests.length,
            ),
    },
    {
      name: 'alertmanager config',
      command: `amtool check-config ${relative(alertmanagerConfig)}`,
      run: () => tool(tools.amtool, ['check-config', alertmanagerConfig], (output) => output.includes('SUCCESS')),
    },
  ];
}

async function main(): Promise<void> {
  const skipped = process.argv.flatMap((arg, index, args) => (args[index - 1] === '--skip' ? [arg] : []));
  const started = Date.now();
  const [promtool, amtool] = await Promise.all([
    ensureGoCommand('prometheus', 'promtool'),
    ensureGoCommand('alertmanager', 'amtool'),
  ]);
  const all = steps({ promtool, amtool });
  const unknown = skipped.filter((name) => !all.some((step) => step.name === name));
  if (unknown.length > 0) {
    throw new Error(`--skip ${unknown.join(', ')}: no such step; the steps: ${all.map((s) => s.name).join(', ')}`);
  }
  const failed: string[] = [];
  for (const step of all.filter((each) => !skipped.includes(each.name))) {
    const stepStarted = Date.now();
    const { ok, output } = step.run();
    const took = `${((Date.now() - stepStarted) / 1000).toFixed(1)} s`;
    process.stdout.write(
      `monitoring: ${ok ? 'ok    ' : 'FAILED'} ${step.name.padEnd(20)} ${took.padStart(6)}  ${step.command}\n`,
    );
    if (!ok) {
      failed.push(step.name);
      process.stdout.write(output.replace(/^/gm, '    ').trimEnd() + '\n');
    }
  }
  const took = `${((Date.now() - started) / 1000).toFixed(1)} s`;
  if (failed.length > 0) {
    process.stderr.write(`monitoring: ${failed.length} failed (${failed.join(', ')}) in ${took}\n`);
    process.exitCode = 1;
  } else {
    process.stdout.write(`monitoring: all passed in ${took}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`monitoring: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
