import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { type AlertingRule, type RecordingRule, ruleGroups } from '../../dashboards/src/alerts';
import { renderRules, RULES_FILE } from '../../dashboards/src/rules-file';

const root = path.resolve(__dirname, '../..');
const rules = ruleGroups().flatMap((group) => group.rules);
const alerts = rules.filter((rule): rule is AlertingRule => 'alert' in rule);
const recordings = rules.filter((rule): rule is RecordingRule => 'record' in rule);

interface ExpectedAlert {
  exp_labels?: Record<string, string>;
  exp_annotations?: Record<string, string>;
}
interface RuleTest {
  name: string;
  alert_rule_test?: { eval_time: string; alertname: string; exp_alerts: ExpectedAlert[] }[];
  promql_expr_test?: { expr: string }[];
}
const testsDir = path.join(root, 'observability/prometheus/tests');
const testFiles = readdirSync(testsDir)
  .filter((name) => name.endsWith('.test.yml'))
  .map(
    (name) =>
      parse(readFileSync(path.join(testsDir, name), 'utf8')) as { evaluation_interval: string; tests: RuleTest[] },
  );

/** Seconds in a Prometheus duration such as `1m30s`. */
function seconds(duration: string): number {
  const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
  return [...duration.matchAll(/(\d+)([smhd])/g)].reduce((sum, [, n, unit]) => sum + Number(n) * units[unit!]!, 0);
}

/** GitHub's anchor for a Markdown heading. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replaceAll(' ', '-');
}

describe('the Prometheus rules', () => {
  it('are generated from dashboards/src: the committed file is not stale', () => {
    expect({ file: path.relative(root, RULES_FILE), content: readFileSync(RULES_FILE, 'utf8') }).toEqual({
      file: path.relative(root, RULES_FILE),
      content: renderRules(),
    });
  });

  it('have at least eight alerts, each of one shape: PascalCase name, for, severity and three annotations', () => {
    expect(new Set(alerts.map((rule) => rule.alert)).size).toBeGreaterThanOrEqual(8);
    for (const rule of alerts) {
      expect(rule.alert).toMatch(/^([A-Z][a-z0-9]+)+$/);
      expect(rule.for).toMatch(/^\d+[smh]$/);
      expect(['critical', 'warning']).toContain(rule.labels.severity);
      expect(rule.annotations.summary).toMatch(/\.$/);
      expect(rule.annotations.description.length).toBeGreaterThan(20);
      expect(rule.annotations.runbook_url).toMatch(/^docs\/runbooks\.md#[a-z0-9-]+$/);
    }
  });

  it('point every runbook_url at a section of docs/runbooks.md that exists', () => {
    const runbooks = readFileSync(path.join(root, 'docs/runbooks.md'), 'utf8');
    const anchors = new Set([...runbooks.matchAll(/^#{2,3} (.+)$/gm)].map(([, heading]) => anchor(heading!)));
    const missing = alerts.map((rule) => rule.annotations.runbook_url.split('#')[1]!).filter((id) => !anchors.has(id));
    expect(missing).toEqual([]);
  });

  it.each(alerts.map((rule) => [`${rule.alert} (${rule.labels.severity})`, rule] as const))(
    '%s has a unit test: silent one evaluation before its `for` elapses, firing with its annotations after',
    (_name, rule) => {
      const proofs = testFiles.flatMap((file) =>
        file.tests.flatMap((test) => {
          const cases = (test.alert_rule_test ?? []).filter((entry) => entry.alertname === rule.alert);
          const firing = (entry: (typeof cases)[number]) =>
            entry.exp_alerts.filter((expected) => expected.exp_labels?.severity === rule.labels.severity);
          return cases
            .filter((entry) => firing(entry).length > 0)
            .filter((entry) =>
              cases.some(
                (before) =>
                  seconds(before.eval_time) === seconds(entry.eval_time) - seconds(file.evaluation_interval) &&
                  firing(before).length === 0,
              ),
            )
            .flatMap(firing);
        }),
      );
      expect(proofs.length).toBeGreaterThan(0);
      for (const expected of proofs) {
        expect(Object.keys(expected.exp_annotations ?? {}).sort()).toEqual(['description', 'runbook_url', 'summary']);
        expect(expected.exp_annotations?.runbook_url).toBe(rule.annotations.runbook_url);
      }
    },
  );

  it('exercise every recording rule in a unit test', () => {
    const exprs = testFiles.flatMap((file) => file.tests.flatMap((test) => test.promql_expr_test ?? []));
    const untested = recordings
      .map((rule) => rule.record)
      .filter((record) => !exprs.some((test) => new RegExp(`(^|[^\\w:])${record}($|[^\\w:])`).test(test.expr)));
    expect(untested).toEqual([]);
  });
});
