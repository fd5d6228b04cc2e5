// The Markdown report and its plot (SVG, drawn here: bars on log scales need no library).
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import prettier from 'prettier';
import type { ProfileSummary } from './profile';
import type { BenchResult, ScenarioResult, Spread } from './result';
import { median } from './stats';

const fmt = (value: number | null | undefined, digits = 0): string =>
  value === null || value === undefined || !Number.isFinite(value)
    ? 'n/a'
    : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const pct = (value: number): string => `${(value * 100).toFixed(1)}%`;

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

const SYSTEM_NAMES: Record<ScenarioResult['system'], string> = {
  pipeline: 'ours',
  benthos: 'Benthos',
  fastapi: 'FastAPI',
  bridge: 'bridge',
  http: 'bare node:http',
};

function label(scenario: ScenarioResult): string {
  return scenario.system === 'pipeline' ? scenario.name : `${SYSTEM_NAMES[scenario.system]} ${scenario.name}`;
}

/** The shape a scenario was measured in, beside the other systems of that shape: `batch100-200B`. */
function shapeOf(scenario: ScenarioResult): string {
  return scenario.shape;
}

/** A figure's median with the range of the rounds: `1,234 (1,100–1,300)`. */
function spreadText(spread: Spread | null, digits = 0): string {
  if (!spread) return 'n/a';
  return `${fmt(spread.median, digits)} (${fmt(spread.min, digits)}–${fmt(spread.max, digits)})`;
}

function telemetryOf(scenario: ScenarioResult): string {
  if (scenario.system === 'fastapi' || scenario.system === 'bridge' || scenario.system === 'http') return 'none';
  if (scenario.name.includes('-avro-')) return 'off, Avro schema';
  if (scenario.name.endsWith('-1worker')) return 'off, one process';
  if (!scenario.telemetry) return 'off';
  return scenario.sampleRatio === undefined ? 'on' : `on, ${scenario.sampleRatio * 100}% sampled`;
}

/** Every system in every shape, side by side: ours (all telemetry settings) and each peer. */
function peersSection(result: BenchResult): string[] {
  const out: string[] = ['## Ours beside the peers', ''];
  out.push(
    'Each system on a fresh topic of the same Kafka, under the same load generator and connection counts, ' +
      'answering only after Kafka acknowledged (acks=all, idempotent). The systems of a shape run side by side: ' +
      `${String(result.settings.rounds)} rounds, each a closed-loop run of about ${String(result.settings.closedSeconds)} s ` +
      'per system one after the other (the order rotating). Figures are the median of the rounds with the lowest and ' +
      "highest in brackets; events/s and CPU per event come from the same runs. `CPU ms/event` is all of the system's " +
      "processes (for FastAPI, uvicorn's workers too).",
    '',
  );
  const shapes = [...new Set(result.scenarios.map(shapeOf))];
  const rows: string[][] = [];
  for (const shape of shapes) {
    for (const scenario of result.scenarios.filter((each) => shapeOf(each) === shape)) {
      rows.push([
        shape,
        SYSTEM_NAMES[scenario.system],
        telemetryOf(scenario),
        spreadText(scenario.spread.eventsPerSecond),
        `${fmt(scenario.closed.latencyMs.p50, 1)} / ${fmt(scenario.closed.latencyMs.p99, 1)} / ${fmt(scenario.closed.latencyMs.p999, 1)}`,
        spreadText(scenario.spread.cpuMsPerEvent, 4),
        String(scenario.errors),
        scenario.system === 'http'
          ? 'no Kafka'
          : `${fmt(scenario.delivery.accepted)} / ${fmt(scenario.delivery.inKafka)}${scenario.delivery.match ? '' : ' **MISMATCH**'}`,
      ]);
    }
  }
  out.push(
    table(
      [
        'shape',
        'system',
        'telemetry',
        'events/s',
        'HTTP p50 / p99 / p99.9 ms',
        'CPU ms/event',
        'errors',
        'accepted / in Kafka',
      ],
      rows,
    ),
    '',
  );
  out.push('What each system does that the others do not:', '', ...result.differences.map((line) => `- ${line}`), '');
  out.push('The peers and how each does the same work:', '');
  for (const peer of result.peers) {
    out.push(
      `- **${peer.name}** (${peer.version}): ` +
        (peer.status === 'measured' ? (peer.setup ?? 'measured') : `**not measured**: ${peer.reason ?? 'blocked'}`) +
        '.',
    );
  }
  out.push('');
  if (result.consumer) {
    const { consumer } = result;
    const rate = (run: { eventsPerSecond: number } | null) => fmt(run?.eventsPerSecond);
    out.push(
      '### Consumer',
      '',
      `Through \`${consumer.topic}\` (${fmt(consumer.records)} records), each reader a fresh group from the ` +
        'beginning, one after the other in each round (the order rotating): our consumer (default handler, ' +
        "telemetry off), a bare KafkaJS `eachBatch` consumer that only counts and resolves (the client's own " +
        'limit), and `kafka-consumer-perf-test` (its fetch rate). All leave out joining the group.',
      '',
      table(
        [
          'round',
          'ours events/s',
          'ours CPU ms/event',
          'bare KafkaJS records/s',
          'bare KafkaJS CPU ms/record',
          'kafka-consumer-perf-test records/s',
        ],
        consumer.rounds.map((each, index) => [
          String(index + 1),
          rate(each.ours),
          fmt(each.ours.cpuMsPerEvent, 4),
          rate(each.kafkajs),
          fmt(each.kafkajs?.cpuMsPerEvent, 4),
          fmt(each.kafka?.recordsPerSecond),
        ]),
      ),
      '',
    );
  }
  if (result.kafkaDown.length > 0) {
    out.push(
      '### Kafka down',
      '',
      'With every system started and answering, the broker is stopped and each takes one more event; an answer ' +
        'of 2xx would claim an event Kafka does not have.',
      '',
      table(
        ['system', 'answer', 'after ms', ''],
        result.kafkaDown.map((check) => [
          SYSTEM_NAMES[check.system],
          check.status === null ? 'none within the wait' : String(check.status),
          fmt(check.waitedMs),
          check.passed ? 'no 2xx' : '**2xx without Kafka**',
        ]),
      ),
      '',
    );
  }
  return out;
}

/** The table of the four ratios, also shown in the README. */
export function ratiosTable(result: BenchResult): string {
  const rows = Object.entries(result.goals).map(([name, goal]) => {
    const range = result.ratioRanges[name];
    return [
      `\`${name}\``,
      goal.value === null ? 'n/a' : String(goal.value),
      range ? `${range[0]}–${range[1]}` : '',
      goal.goal,
      goal.met === null ? 'not measured' : goal.met ? 'met' : 'not met',
    ];
  });
  return table(['ratio', 'median', 'rounds', 'goal', ''], rows);
}

export function renderReport(result: BenchResult): string {
  const out: string[] = [];
  out.push(`# Benchmark report (${result.mode})`, '');
  out.push(
    `\`${result.command}\`, ${result.started} (${result.durationSeconds} s), on ${String(result.machine.cpus)} × ` +
      `${String(result.machine.cpuModel)}, ${String(result.machine.os)}, load average at start ` +
      `${JSON.stringify(result.machine.loadAverageAtStart)}. The machine is shared, so only the ratios, measured ` +
      'side by side in this one run, mean something; the absolute figures are there to read them by.',
    '',
  );
  out.push('## Ratios', '', ratiosTable(result), '');
  out.push(
    'Every ratio is taken round by round (the systems of a shape run one after the other in each round, so a busy ' +
      'moment of the shared machine weighs on both sides), and the median of the rounds is shown with their range. ' +
      'The exception is `batch_vs_kafka_ceiling`, whose two sides run apart.',
    '',
    "- `cpu_vs_benthos`, `batch_cpu_vs_benthos` (lower is better): our producer's CPU per event over Benthos's, " +
      'both without telemetry, one event per request and batches of 100.',
    "- `producer_cpu_vs_http` (lower is better): our producer's CPU per one-event request, telemetry off, over a bare " +
      "`node:http` server's CPU per request, measured in the same rounds.",
    '- `traced_cpu_vs_untraced`, `sampled10_cpu_vs_untraced` (lower is better): CPU per one-event request with every ' +
      'trace exported to a real Jaeger (or with the parent-based 10% sampler) over the same with `OTEL_SDK_DISABLED=true`.',
    "- `vs_benthos`, `vs_fastapi` (`batch_` for batches of 100): our events/s over the peer's, both without " +
      'telemetry; `traced_vs_benthos`: ours fully traced over Benthos with its own tracer, both to the same Jaeger.',
    '- `telemetry_throughput_ratio`: one-event events/s traced over untraced; `sampled10_`: with the 10% sampler. ' +
      '`dropped_spans`: spans the span processors dropped in all scenarios.',
    "- `consumer_vs_kafka_consumer`: our consumer's events/s over `kafka-consumer-perf-test`'s on the same topic; " +
      "`consumer_vs_kafkajs_limit`: over a bare KafkaJS `eachBatch` consumer's that only counts and resolves.",
    '- `dropped_spans_producer`, `dropped_spans_consumer`: `dropped_spans` by service.',
    '- `single_vs_http_ceiling`: our one-event requests per second (telemetry on) over the bare `node:http` server; ' +
      '`batch_vs_kafka_ceiling`: our events per second in batches of 100 over `kafka-producer-perf-test` ' +
      '(acks=all, idempotent, same record size).',
    '',
  );
  const details = Object.entries(result.ratioDetails).filter(([, value]) => typeof value === 'number');
  if (details.length > 0) {
    out.push(
      'More ratios of this run:',
      '',
      table(
        ['ratio', 'value'],
        details.map(([k, v]) => [`\`${k}\``, String(v)]),
      ),
      '',
    );
  }
  out.push(
    '## Delivery',
    '',
    `Events acknowledged with a 2xx (2xx answers × events per request, warm-ups included): **${fmt(result.delivery.accepted)}**; ` +
      `records in Kafka (high minus low watermarks of each scenario's fresh topic): **${fmt(result.delivery.in_kafka)}**. ` +
      'Each scenario is checked on its own (a total could hide opposite mismatches): ' +
      (result.delivery.match
        ? 'every scenario matches.'
        : `**${result.delivery.mismatched.join(', ')} do not match**, and the run failed.`),
    '',
  );
  out.push('![throughput and latency per scenario](throughput-latency.svg)', '');
  out.push(...peersSection(result));
  out.push('## Baselines', '');
  out.push(
    table(
      [
        'payload',
        'bare node:http req/s',
        'p50 / p99 / p99.9 ms',
        'its CPU ms/request',
        'kafka-producer-perf-test records/s',
        'its p50 / p99 ms',
      ],
      result.baselines.map((baseline) => [
        `${baseline.payloadBytes} B`,
        fmt(baseline.http?.okPerSecond),
        `${fmt(baseline.http?.latencyMs.p50, 1)} / ${fmt(baseline.http?.latencyMs.p99, 1)} / ${fmt(baseline.http?.latencyMs.p999, 1)}`,
        fmt(baseline.httpCpuMsPerRequest, 4),
        spreadText(baseline.kafkaRecordsPerSecond),
        `${fmt(baseline.kafka?.latencyMs.p50)} / ${fmt(baseline.kafka?.latencyMs.p99)}`,
      ]),
    ),
    '',
  );
  out.push(
    'The bare server is measured in the rounds of the one-event shapes (its round of median requests/s); ' +
      "Kafka's perf test runs apart, the median of as many runs as there are rounds, with their range.",
    '',
  );
  out.push('## Our scenarios: closed loop (the ceiling)', '');
  out.push(
    `Each closed-loop figure is the round of median events/s of ${String(result.settings.rounds)} rounds of about ` +
      `${String(result.settings.closedSeconds)} s (\`CPU ms/event\`: the median of the rounds). ` +
      "The ceiling of ingestion is measured with no consumer running, as the bare server and Kafka's perf test run " +
      'alone; `events/s with consumer` repeats the closed loop with the consumer sharing the machine, and the open ' +
      'model offers fractions of that.',
    '',
  );
  out.push(
    table(
      [
        'scenario',
        'telemetry',
        'conns',
        'events/s',
        'req/s',
        'events/s with consumer',
        'HTTP p50 / p99 / p99.9 ms',
        'errors',
        'CPU ms/event',
        'spans dropped',
        'e2e p50 / p99 ms (open model)',
        'accepted',
        'in Kafka',
      ],
      result.scenarios
        .filter((scenario) => scenario.system === 'pipeline')
        .map((scenario) => {
          const e2e = scenario.endToEnd.open;
          return [
            label(scenario),
            telemetryOf(scenario),
            String(scenario.connections),
            fmt(scenario.closed.eventsPerSecond),
            fmt(scenario.closed.okPerSecond),
            fmt(scenario.closedWithConsumer?.eventsPerSecond),
            `${fmt(scenario.closed.latencyMs.p50, 1)} / ${fmt(scenario.closed.latencyMs.p99, 1)} / ${fmt(scenario.closed.latencyMs.p999, 1)}`,
            String(scenario.errors),
            fmt(scenario.cpuMsPerEvent, 3),
            scenario.telemetry ? fmt(scenario.droppedSpans.producer + scenario.droppedSpans.consumer) : '',
            e2e ? `${fmt(e2e.p50Ms, 1)} / ${fmt(e2e.p99Ms, 1)}` : '',
            fmt(scenario.delivery.accepted),
            fmt(scenario.delivery.inKafka),
          ];
        }),
    ),
    '',
  );
  out.push(
    '`CPU ms/event`: user + system CPU time of the producer over the measured closed loop, per ' +
      'event: a cost that other work on a shared machine disturbs far less than throughput. `spans dropped`: spans ' +
      "the producer's and consumer's batch span processors dropped because their queue was full " +
      "(`OTEL_BSP_MAX_QUEUE_SIZE`, 16384 unless set: the telemetry bootstrap raises the SDK's 2048); those traces " +
      'are incomplete. ' +
      "Closed-loop end-to-end latency is a backlog (the consumer shares the machine's cores with a saturated producer), so " +
      "the table shows the open model's; both are in `latest.json`.",
    '',
  );
  out.push('## How quiet each measured run was', '');
  out.push(
    'Before each measured run the bench waits until the machine is quiet (what the last system left running, ' +
      "a traced system's span exports, a JVM's collection, has finished), and warms each system until two runs in " +
      'a row cost the same CPU per request. `others` is the CPU the rest of the machine spent during the run, in ' +
      "cores: Kafka serving the run, the kernel's loopback networking (softirq) and the idle work of the shape's " +
      'other systems are part of it; niced work is not counted. Per system, the median of its rounds.',
    '',
  );
  out.push(
    table(
      ['scenario', 'waited for quiet s', 'others during the run (cores)'],
      result.scenarios.map((scenario) => {
        const settled = scenario.rounds.flatMap((round) =>
          round.settledMs === undefined ? [] : [round.settledMs / 1000],
        );
        const others = scenario.rounds.flatMap((round) =>
          round.othersCpuMs == null || round.seconds <= 0 ? [] : [round.othersCpuMs / 1000 / round.seconds],
        );
        return [label(scenario), fmt(median(settled), 1), fmt(median(others), 2)];
      }),
    ),
    '',
  );
  const open = result.scenarios.flatMap((scenario) => scenario.open.map((run) => ({ scenario, run })));
  if (open.length > 0) {
    out.push('## Scenarios: open model (fixed arrival rates, latency from the time each request was due)', '');
    out.push(
      table(
        ['scenario', 'of ceiling', 'offered req/s', 'achieved events/s', 'HTTP p50 / p99 / p99.9 ms', 'errors'],
        open.map(({ scenario, run }) => [
          label(scenario),
          pct(run.fraction),
          fmt(run.targetRate),
          fmt(run.eventsPerSecond),
          `${fmt(run.latencyMs.p50, 1)} / ${fmt(run.latencyMs.p99, 1)} / ${fmt(run.latencyMs.p999, 1)}`,
          String(run.errors + run.non2xx),
        ]),
      ),
      '',
    );
  }
  out.push(
    '## Versions',
    '',
    table(
      ['part', 'version'],
      Object.entries(result.versions).map(([k, v]) => [k, v]),
    ),
    '',
  );
  out.push(
    '## Findings',
    '',
    'What the CPU profiles of the producer show and what would help: [findings.md](../findings.md) ' +
      '(profiles: `npm run bench -- --profile`, summary in [profile.md](profile.md)).',
    '',
  );
  return out.join('\n');
}

interface Bar {
  label: string;
  value: number;
  color: string;
  /** A second, smaller value drawn over the bar (p50 over p99). */
  inner?: number;
}

const COLORS = {
  http: '#8c8c8c',
  kafka: '#b5651d',
  ours: '#2b6cb0',
  oursOff: '#90cdf4',
  benthos: '#d69e2e',
  benthosOff: '#f6e05e',
  fastapi: '#38b2ac',
  bridge: '#c53030',
};

function colorOf(scenario: ScenarioResult): string {
  if (scenario.system === 'pipeline') return scenario.telemetry ? COLORS.ours : COLORS.oursOff;
  if (scenario.system === 'benthos') return scenario.telemetry ? COLORS.benthos : COLORS.benthosOff;
  return scenario.system === 'fastapi' ? COLORS.fastapi : COLORS.bridge;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Horizontal bars on a log10 axis; returns the SVG fragment and its height. */
function barPanel(
  title: string,
  unit: string,
  bars: Bar[],
  top: number,
  width: number,
): { svg: string; height: number } {
  const labelWidth = 230;
  const rowHeight = 20;
  const plotWidth = width - labelWidth - 80;
  const values = bars.flatMap((bar) => [bar.value, bar.inner ?? bar.value]).filter((value) => value > 0);
  const low = 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(...values))));
  const high = 10 ** Math.ceil(Math.log10(Math.max(...values, 10)));
  const x = (value: number): number =>
    labelWidth +
    (plotWidth * (Math.log10(Math.max(value, low)) - Math.log10(low))) / (Math.log10(high) - Math.log10(low));
  const parts: string[] = [];
  parts.push(`<text x="10" y="${top + 16}" font-weight="bold">${escape(title)}</text>`);
  const plotTop = top + 28;
  const plotHeight = bars.length * rowHeight;
  for (let decade = low; decade <= high; decade *= 10) {
    const gx = x(decade).toFixed(1);
    parts.push(`<line x1="${gx}" y1="${plotTop}" x2="${gx}" y2="${plotTop + plotHeight}" stroke="#ddd"/>`);
    parts.push(
      `<text x="${gx}" y="${plotTop + plotHeight + 14}" text-anchor="middle" font-size="11">${decade >= 1 ? decade.toLocaleString('en-US') : decade}</text>`,
    );
  }
  parts.push(
    `<text x="${labelWidth + plotWidth / 2}" y="${plotTop + plotHeight + 30}" text-anchor="middle" font-size="11">${escape(unit)} (log scale)</text>`,
  );
  bars.forEach((bar, i) => {
    const y = plotTop + i * rowHeight;
    parts.push(
      `<text x="${labelWidth - 6}" y="${y + 14}" text-anchor="end" font-size="12">${escape(bar.label)}</text>`,
    );
    const end = x(bar.value);
    parts.push(
      `<rect x="${labelWidth}" y="${y + 3}" width="${Math.max(1, end - labelWidth).toFixed(1)}" height="${rowHeight - 6}" fill="${bar.color}"/>`,
    );
    if (bar.inner !== undefined) {
      parts.push(
        `<rect x="${labelWidth}" y="${y + 7}" width="${Math.max(1, x(bar.inner) - labelWidth).toFixed(1)}" height="${rowHeight - 14}" fill="#1a365d"/>`,
      );
    }
    const text = bar.inner !== undefined ? `${fmt(bar.inner, 1)} / ${fmt(bar.value, 1)}` : fmt(bar.value);
    parts.push(`<text x="${(end + 4).toFixed(1)}" y="${y + 14}" font-size="11">${text}</text>`);
  });
  return { svg: parts.join('\n'), height: plotTop - top + plotHeight + 40 };
}

export function renderPlot(result: BenchResult): string {
  const width = 900;
  const throughput: Bar[] = [];
  for (const baseline of result.baselines) {
    if (baseline.http) {
      throughput.push({
        label: `bare node:http ${baseline.payloadBytes} B (req/s)`,
        value: baseline.http.okPerSecond,
        color: COLORS.http,
      });
    }
    if (baseline.kafka) {
      throughput.push({
        label: `kafka perf-test ${baseline.payloadBytes} B (rec/s)`,
        value: baseline.kafka.recordsPerSecond,
        color: COLORS.kafka,
      });
    }
  }
  // Grouped by shape, so that every system's bar of a shape stands beside the others.
  for (const shape of [...new Set(result.scenarios.map(shapeOf))]) {
    // The bare server has its bar above, with Kafka's perf test.
    for (const scenario of result.scenarios.filter((each) => shapeOf(each) === shape && each.system !== 'http')) {
      throughput.push({ label: label(scenario), value: scenario.closed.eventsPerSecond, color: colorOf(scenario) });
    }
  }
  const latency: Bar[] = [];
  for (const scenario of result.scenarios) {
    for (const run of scenario.open) {
      latency.push({
        label: `${scenario.name} HTTP @${Math.round(run.fraction * 100)}%`,
        value: run.latencyMs.p99,
        inner: run.latencyMs.p50,
        color: COLORS.ours,
      });
    }
    const e2e = scenario.endToEnd.open;
    if (e2e && e2e.p99Ms !== null && e2e.p50Ms !== null) {
      latency.push({ label: `${scenario.name} end-to-end`, value: e2e.p99Ms, inner: e2e.p50Ms, color: '#38a169' });
    }
  }
  const first = barPanel(
    'Throughput per scenario (closed loop): events/s',
    'events or requests per second',
    throughput,
    0,
    width,
  );
  const second =
    latency.length > 0
      ? barPanel(
          'Latency in the open model: p50 (dark) / p99 (bar), ms',
          'milliseconds',
          latency,
          first.height + 10,
          width,
        )
      : { svg: '', height: 0 };
  const legend = [
    ['bare node:http', COLORS.http],
    ['Kafka perf-test', COLORS.kafka],
    ['ours, telemetry on', COLORS.ours],
    ['ours, telemetry off', COLORS.oursOff],
    ['Benthos, tracer on', COLORS.benthos],
    ['Benthos, off', COLORS.benthosOff],
    ['FastAPI', COLORS.fastapi],
    ['end-to-end', '#38a169'],
  ];
  const legendTop = first.height + second.height + 20;
  const legendSvg = legend
    .map(
      ([name, color], i) =>
        `<rect x="${10 + (i % 5) * 175}" y="${legendTop + Math.floor(i / 5) * 18}" width="12" height="12" fill="${color}"/>` +
        `<text x="${26 + (i % 5) * 175}" y="${legendTop + Math.floor(i / 5) * 18 + 11}" font-size="11">${name}</text>`,
    )
    .join('\n');
  const height = legendTop + Math.ceil(legend.length / 5) * 18 + 14;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    first.svg,
    second.svg,
    legendSvg,
    '</svg>',
    '',
  ].join('\n');
}

export async function writeReport(dir: string, result: BenchResult): Promise<void> {
  await writeFile(path.join(dir, 'report.md'), renderReport(result));
  await writeFile(path.join(dir, 'throughput-latency.svg'), renderPlot(result));
}

export interface ProfiledScenario {
  scenario: string;
  telemetry: boolean;
  eventsPerSecond: number;
  cpuMsPerEvent: number | null;
  summary: ProfileSummary;
  file: string;
  /** The start-up left out of the summary (module loading, connecting), from the profile's start. */
  skipMs: number;
}

export async function writeProfileReport(
  file: string,
  profiles: ProfiledScenario[],
  meta: { machine: Record<string, unknown>; versions: Record<string, string> },
): Promise<void> {
  const out: string[] = ['# Producer CPU profiles under closed-loop load', ''];
  out.push(
    '`npm run bench -- --profile` runs the producer with `node --cpu-prof` under the closed loop of each scenario ' +
      'and summarises the profile: self time per package and function, and inclusive time per package (any frame ' +
      'of it on the stack). Shares are of the busy time (idle excluded). The raw `.cpuprofile` files open in ' +
      'Chrome DevTools (Performance) or speedscope as flame graphs; beside each, a `.folded` file of the ' +
      'same samples (start-up left out) for flamegraph.pl or inferno.',
    '',
    `Machine: ${String(meta.machine.cpus)} × ${String(meta.machine.cpuModel)}; Node ${meta.versions.node ?? ''}.`,
    '',
  );
  for (const profile of profiles) {
    const { summary } = profile;
    out.push(
      `## ${profile.scenario} (telemetry ${profile.telemetry ? 'on' : 'off'}): ${fmt(profile.eventsPerSecond)} events/s under the profiler`,
      '',
      `Busy ${fmt(summary.busyMs)} ms of ${fmt(summary.totalMs)} ms profiled after start-up, ` +
        `${fmt(profile.cpuMsPerEvent, 3)} ms of CPU per event; \`${profile.file}\`.`,
      '',
    );
    const entries = (list: ProfileSummary['packages'], count: number): string[][] =>
      list.slice(0, count).map((entry) => [escape(entry.name).replace(/\|/g, '\\|'), fmt(entry.ms), pct(entry.share)]);
    out.push('Self time by package:', '', table(['package', 'ms', 'share'], entries(summary.packages, 12)), '');
    out.push('Self time of package families:', '', table(['family', 'ms', 'share'], entries(summary.groups, 5)), '');
    out.push(
      'Inclusive time by package (a wrapper, e.g. an instrumentation, holds all it wraps):',
      '',
      table(['package', 'ms', 'share'], entries(summary.inclusive, 12)),
      '',
    );
    out.push('Top functions by self time:', '', table(['function', 'ms', 'share'], entries(summary.functions, 20)), '');
  }
  await writeFile(file, out.join('\n'));
}

const README_START = '<!-- bench:latest:start (written by npm run bench) -->';
const README_END = '<!-- bench:latest:end -->';

/** One-event and batch-of-100 events/s without telemetry, ours and each measured peer's. */
function peerLine(result: BenchResult): string {
  const eps = (system: ScenarioResult['system'], name: string): string =>
    fmt(
      result.scenarios.find((scenario) => scenario.system === system && scenario.name === name)?.closed.eventsPerSecond,
    );
  const systems = (['pipeline', 'benthos', 'fastapi'] as const).filter((system) =>
    result.scenarios.some((scenario) => scenario.system === system && scenario.name === 'single-200B-notel'),
  );
  if (systems.length < 2) return '';
  const parts = systems.map(
    (system) => `${SYSTEM_NAMES[system]} ${eps(system, 'single-200B-notel')} / ${eps(system, 'batch100-200B-notel')}`,
  );
  return ` Without telemetry, events/s one by one / in batches of 100: ${parts.join('; ')}.`;
}

/** The README's block of the latest results, between its markers. */
export function readmeBlock(result: BenchResult): string {
  const single = result.scenarios.find((scenario) => scenario.name === 'single-200B' && scenario.system === 'pipeline');
  const batch = result.scenarios.find(
    (scenario) => scenario.name === 'batch100-200B' && scenario.system === 'pipeline',
  );
  const http = result.baselines.find((baseline) => baseline.payloadBytes === 200);
  const lines = [
    README_START,
    '',
    `Latest: \`${result.command}\` on ${result.started.slice(0, 10)}, ${String(result.machine.cpus)} shared cores ` +
      `([report](bench/results/report.md), [latest.json](bench/results/latest.json)).`,
    '',
    ratiosTable(result),
    '',
    `Delivery: ${fmt(result.delivery.accepted)} events acknowledged, ${fmt(result.delivery.in_kafka)} in Kafka ` +
      `(${result.delivery.match ? 'equal' : '**not equal**'}). ` +
      `For scale: bare \`node:http\` ${fmt(http?.http?.okPerSecond)} req/s, Kafka's producer ` +
      `${fmt(http?.kafka?.recordsPerSecond)} records/s, ours ${fmt(single?.closed.eventsPerSecond)} events/s one by one ` +
      `and ${fmt(batch?.closed.eventsPerSecond)} in batches of 100 (telemetry on).` +
      peerLine(result),
    '',
    '![throughput and latency per scenario](bench/results/throughput-latency.svg)',
    '',
    README_END,
  ];
  return lines.join('\n');
}

/** Replaces the README's block (if it has the markers), formatted as `npm run lint` expects. */
export async function updateReadme(readmeFile: string, result: BenchResult): Promise<boolean> {
  const text = await readFile(readmeFile, 'utf8');
  const start = text.indexOf(README_START);
  const end = text.indexOf(README_END);
  if (start < 0 || end < start) return false;
  const updated = text.slice(0, start) + readmeBlock(result) + text.slice(end + README_END.length);
  const options = (await prettier.resolveConfig(readmeFile)) ?? {};
  await writeFile(readmeFile, await prettier.format(updated, { ...options, filepath: readmeFile }));
  return true;
}
