import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { runCommand } from '../../scripts/kafka/jars';
import { ensureGoCommand, ensureGoTool, GO_TOOLS, prometheusRelease } from '../../scripts/tools/go-tools';
import { testPort } from '../support/kafka';
import { waitFor } from '../support/wait';

jest.setTimeout(120_000);

const root = path.resolve(__dirname, '../..');
const alertmanagerConfig = path.join(root, 'observability/alertmanager/alertmanager.yml');

/** What `promtool` or `amtool` printed, whether it passed or failed (the failure says why). */
async function run(command: string, args: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await runCommand(command, args);
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    return { ok: false, output: String(error) };
  }
}

// The config files compose and the local stack share, checked by the tools that load them.
// `npm run monitoring:test` (a step of `npm test`) runs `promtool check config`, `check rules`,
// `test rules` and `amtool check-config` on them; here: the releases, the routes, the receivers.
describe('observability config', () => {
  // Compose pins the same releases as images (test/unit/stack-parity.test.ts).
  it('runs the Prometheus, Alertmanager and Pushgateway releases compose pins, built from their modules', async () => {
    const version = async (program: string): Promise<string> => {
      const { stdout, stderr } = await runCommand(program, ['--version']);
      return /version (\d+\.\d+\.\d+)/.exec(`${stdout}${stderr}`)?.[1] ?? '';
    };
    const [prometheus, promtool, alertmanager, amtool, pushgateway] = await Promise.all([
      ensureGoTool('prometheus'),
      ensureGoCommand('prometheus', 'promtool'),
      ensureGoTool('alertmanager'),
      ensureGoCommand('alertmanager', 'amtool'),
      ensureGoTool('pushgateway'),
    ]);
    const release = prometheusRelease(GO_TOOLS.prometheus.version);
    expect(release).toMatch(/^3\./);
    expect(await version(prometheus)).toBe(release);
    expect(await version(promtool)).toBe(release);
    expect(await version(alertmanager)).toBe(GO_TOOLS.alertmanager.version.slice(1));
    expect(await version(amtool)).toBe(GO_TOOLS.alertmanager.version.slice(1));
    expect(await version(pushgateway)).toBe(GO_TOOLS.pushgateway.version.slice(1));
  });

  it('routes critical alerts to the pager, warnings to tickets, anything else to the default receiver', async () => {
    const amtool = await ensureGoCommand('alertmanager', 'amtool');
    const receiver = async (...labels: string[]) =>
      (
        await runCommand(amtool, ['config', 'routes', 'test', `--config.file=${alertmanagerConfig}`, ...labels])
      ).stdout.trim();
    expect(await receiver('alertname=EventsProducerDown', 'severity=critical')).toBe('pager');
    expect(await receiver('alertname=EventsConsumerLagHigh', 'severity=warning')).toBe('tickets');
    expect(await receiver('alertname=Watchdog')).toBe('default');
  });

  it('accepts the Slack and PagerDuty receivers of docs/alerts.md', async () => {
    const amtool = await ensureGoCommand('alertmanager', 'amtool');
    const doc = readFileSync(path.join(root, 'docs', 'alerts.md'), 'utf8');
    const snippet = /<!-- alertmanager-receivers -->\n+```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    const { receivers } = parse(snippet ?? '{}') as { receivers?: { name: string }[] };
    expect(receivers?.map((receiver) => receiver.name)).toEqual(['default', 'pager', 'tickets']);
    const dir = mkdtempSync(path.join(tmpdir(), 'alertmanager-'));
    try {
      const file = path.join(dir, 'alertmanager.yml');
      writeFileSync(file, stringify({ route: { receiver: 'default' }, receivers }));
      const result = await run(amtool, ['check-config', file]);
      expect(result).toMatchObject({ ok: true, output: expect.stringContaining('SUCCESS') });
      expect(result.output).toContain('3 receivers');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The inhibition rules, in the real Alertmanager: a cause silences its symptoms, nothing else.
describe('Alertmanager with the pipeline config', () => {
  const port = testPort(10650);
  const base = `http://127.0.0.1:${port}`;
  let alertmanager: ChildProcess | undefined;
  let storage: string;

  beforeAll(async () => {
    const binary = await ensureGoTool('alertmanager');
    storage = mkdtempSync(path.join(tmpdir(), 'alertmanager-'));
    alertmanager = spawn(
      binary,
      [
        `--config.file=${alertmanagerConfig}`,
        `--storage.path=${storage}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
      ],
      { stdio: 'ignore' },
    );
    await waitFor('Alertmanager ready', async () => (await fetch(`${base}/-/ready`).catch(() => undefined))?.ok, {
      timeoutMs: 30_000,
    });
  });

  afterAll(async () => {
    // It writes its state into the storage folder as it stops: remove the folder after that.
    if (alertmanager && alertmanager.exitCode === null && alertmanager.signalCode === null) {
      const exited = new Promise((resolve) => alertmanager!.once('exit', resolve));
      alertmanager.kill('SIGTERM');
      await exited;
    }
    rmSync(storage, { recursive: true, force: true });
  });

  type Labels = Record<string, string>;
  type Answer = { labels: Labels; status: { state: string } };

  async function post(alerts: { labels: Labels; resolved?: boolean }[]): Promise<void> {
    const now = Date.now();
    const body = alerts.map(({ labels, resolved }) => ({
      labels,
      startsAt: new Date(now - 60_000).toISOString(),
      endsAt: new Date(resolved ? now : now + 600_000).toISOString(),
    }));
    const answer = await fetch(`${base}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(answer.status).toBe(200);
  }

  /** Each alert's state, `active` or `suppressed`, by name, severity and instance (if any). */
  async function states(count: number): Promise<Record<string, string>> {
    const answer = await waitFor(`${count} alerts in Alertmanager`, async () => {
      const alerts = (await (
        await fetch(`${base}/api/v2/alerts?active=true&silenced=true&inhibited=true`)
      ).json()) as Answer[];
      return alerts.length === count && alerts;
    });
    return Object.fromEntries(
      answer.map(({ labels, status }) => [
        [labels.alertname, labels.severity, labels.instance].filter(Boolean).join('/'),
        status.state,
      ]),
    );
  }

  it("silences a missing broker's symptoms, and nothing else", async () => {
    await post([
      { labels: { alertname: 'KafkaBrokersMissing', severity: 'critical', job: 'kafka-exporter' } },
      { labels: { alertname: 'EventsProducerNotReady', severity: 'critical', job: 'producer', instance: 'p:8080' } },
      {
        labels: {
          alertname: 'EventsConsumerLagHigh',
          severity: 'warning',
          consumergroup: 'events-processor',
          topic: 'events',
        },
      },
      { labels: { alertname: 'EventsEndToEndLatencyBudgetBurn', severity: 'critical', slo: 'end-to-end-latency' } },
      { labels: { alertname: 'EventsConsumerDown', severity: 'warning', job: 'consumer', instance: 'c1:9464' } },
      { labels: { alertname: 'EventsConsumerNotReady', severity: 'warning', job: 'consumer', instance: 'c2:9464' } },
      { labels: { alertname: 'EventsDeadLettered', severity: 'warning', job: 'consumer' } },
    ]);
    expect(await states(7)).toEqual({
      'KafkaBrokersMissing/critical': 'active',
      'EventsProducerNotReady/critical/p:8080': 'suppressed',
      'EventsConsumerLagHigh/warning': 'suppressed',
      'EventsEndToEndLatencyBudgetBurn/critical': 'suppressed',
      'EventsConsumerNotReady/warning/c2:9464': 'suppressed',
      // A process that is down, and dead letters, are news of their own.
      'EventsConsumerDown/warning/c1:9464': 'active',
      'EventsDeadLettered/warning': 'active',
    });
  });

  it('silences a slow-burn warning under its page, 5xx under a producer without Kafka, and a late pipeline under a stuck partition', async () => {
    await post([
      { labels: { alertname: 'KafkaBrokersMissing', severity: 'critical', job: 'kafka-exporter' }, resolved: true },
      { labels: { alertname: 'EventsIngestLatencyBudgetBurn', severity: 'critical', slo: 'ingest-latency' } },
      { labels: { alertname: 'EventsIngestLatencyBudgetBurn', severity: 'warning', slo: 'ingest-latency' } },
      { labels: { alertname: 'EventsIngestErrorRatioHigh', severity: 'critical' } },
      { labels: { alertname: 'EventsConsumerLagSecondsHigh', severity: 'critical', topic: 'events', partition: '3' } },
    ]);
    expect(await states(10)).toEqual({
      'EventsIngestLatencyBudgetBurn/critical': 'active',
      'EventsIngestLatencyBudgetBurn/warning': 'suppressed',
      'EventsIngestErrorRatioHigh/critical': 'suppressed',
      'EventsConsumerLagSecondsHigh/critical': 'active',
      'EventsEndToEndLatencyBudgetBurn/critical': 'suppressed',
      // With the broker back, its former symptoms speak again.
      'EventsProducerNotReady/critical/p:8080': 'active',
      'EventsConsumerLagHigh/warning': 'active',
      'EventsConsumerNotReady/warning/c2:9464': 'active',
      'EventsConsumerDown/warning/c1:9464': 'active',
      'EventsDeadLettered/warning': 'active',
    });
  });
});
