// The two load models. Closed loop (autocannon): N connections, each sends its next request when
// the last one is answered: the ceiling. Open model (ours, as wrk2 does it): requests leave at
// fixed times whatever the server does, and latency counts from the time a request was due, so
// a stalled server shows in the tail instead of being hidden (coordinated omission).
// Both send an exact number of requests and wait for every answer, so the count of 2xx answers
// is exactly what the server acknowledged: the delivery check compares it with Kafka's offsets.
import http from 'node:http';
import autocannon from 'autocannon';
import { percentiles, type Percentiles } from './stats';

export interface Target {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface LoadResult {
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  seconds: number;
  /** Answered requests per second (any status). */
  requestsPerSecond: number;
  /** 2xx answers per second. */
  okPerSecond: number;
  latencyMs: Percentiles;
}

export interface OpenResult extends LoadResult {
  targetRate: number;
}

/**
 * One autocannon run of exactly `amount` requests. Its own clock ticks once a second, so the run
 * is timed here, from the start to the last answer.
 */
export async function autocannonRun(target: Target, connections: number, amount: number): Promise<LoadResult> {
  const started = performance.now();
  let lastAnswer = started;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.url,
        method: 'POST',
        headers: target.headers,
        body: target.body,
        connections: Math.min(connections, amount),
        amount,
        timeout: 30,
      },
      (error, done) => (error ? reject(error as Error) : resolve(done)),
    );
    instance.on('response', () => (lastAnswer = performance.now()));
  });
  const seconds = Math.max(lastAnswer - started, 1) / 1000;
  const ok = result['2xx'];
  const non2xx = result.non2xx;
  const errors = result.errors;
  const answered = ok + non2xx;
  const latency = result.latency as unknown as Record<string, number>;
  return {
    requests: amount,
    ok,
    non2xx,
    errors,
    seconds,
    requestsPerSecond: answered / seconds,
    okPerSecond: ok / seconds,
    latencyMs: { p50: latency.p50 ?? Number.NaN, p99: latency.p99 ?? Number.NaN, p999: latency.p99_9 ?? Number.NaN },
  };
}

/** Warm-up runs past the sizing ones at most, when their CPU per request keeps moving. */
const MAX_SETTLING_RUNS = 4;
/** Two runs in a row whose CPU per request differ by less than this are warm. */
const WARM_WITHIN = 0.1;

/**
 * Closed-loop warm-ups (JIT, connections, Kafka metadata, the heap's young generation) that size
 * the measured runs: `amount` requests take about `seconds` at the rate the second warm-up
 * reached. Given the system's CPU clock, it goes on with runs of `amount` until two in a row cost
 * the same CPU per request (within 10%, at most four more): a JIT or heap still settling in the
 * first measured round inflated its CPU per event by up to 1.8× over the later rounds.
 */
export async function warmUp(
  target: Target,
  connections: number,
  seconds: number,
  cpuMs?: () => number | undefined,
): Promise<{ amount: number; warmups: LoadResult[] }> {
  const first = await autocannonRun(target, connections, connections * 5);
  const guess = Math.max(first.requestsPerSecond, 1);
  const second = await autocannonRun(target, connections, Math.max(connections * 5, Math.round(guess)));
  const rate = Math.max(second.requestsPerSecond, 1);
  const amount = Math.max(connections * 10, Math.round(rate * seconds));
  const warmups = [first, second];
  if (cpuMs === undefined) return { amount, warmups };
  let last: number | undefined;
  for (let run = 0; run < MAX_SETTLING_RUNS; run++) {
    const before = cpuMs();
    const result = await autocannonRun(target, connections, amount);
    const after = cpuMs();
    warmups.push(result);
    if (before === undefined || after === undefined || result.ok + result.non2xx === 0) break;
    const perRequest = (after - before) / (result.ok + result.non2xx);
    if (last !== undefined && Math.abs(perRequest - last) <= WARM_WITHIN * Math.max(perRequest, last)) break;
    last = perRequest;
  }
  return { amount, warmups };
}

/**
 * The closed-loop ceiling of one system alone (the profile run): warm-ups, then `repeats`
 * measured runs; `onMeasured` marks the window the measured runs cover.
 */
export async function closedLoop(
  target: Target,
  connections: number,
  seconds: number,
  {
    repeats = 1,
    onMeasured = () => undefined,
  }: {
    repeats?: number;
    /** Called right before the first and right after the last measured run (e.g. to read the server's CPU time). */
    onMeasured?: (phase: 'start' | 'end') => void;
  } = {},
): Promise<{ best: LoadResult; runs: LoadResult[]; warmups: LoadResult[] }> {
  const { amount, warmups } = await warmUp(target, connections, seconds);
  const runs: LoadResult[] = [];
  onMeasured('start');
  for (let i = 0; i < repeats; i++) runs.push(await autocannonRun(target, connections, amount));
  onMeasured('end');
  const best = runs.reduce((a, b) => (b.okPerSecond > a.okPerSecond ? b : a));
  return { best, runs, warmups };
}

/** Fixed-rate arrivals: request i is due at start + i/rate; its latency runs from then to its answer. */
export async function openLoop(target: Target, rate: number, seconds: number, maxSockets = 512): Promise<OpenResult> {
  const total = Math.max(1, Math.round(rate * seconds));
  const url = new URL(target.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const body = Buffer.from(target.body);
  const headers = { ...target.headers, 'content-length': String(body.length) };
  const latencies = new Float64Array(total);
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let answered = 0;
  let sent = 0;
  const start = performance.now();

  await new Promise<void>((resolve) => {
    const finish = (): void => {
      answered += 1;
      if (answered === total) resolve();
    };
    const send = (index: number): void => {
      const due = start + (index * 1000) / rate;
      const request = http.request(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers, agent },
        (response) => {
          response.resume();
          response.on('end', () => {
            latencies[index] = performance.now() - due;
            if (response.statusCode !== undefined && response.statusCode >= 200 && response.statusCode < 300) ok += 1;
            else non2xx += 1;
            finish();
          });
        },
      );
      request.on('error', () => {
        latencies[index] = performance.now() - due;
        errors += 1;
        finish();
      });
      request.end(body);
    };
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
      while (sent < due) send(sent++);
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  const seconds_ = (performance.now() - start) / 1000;
  agent.destroy();
  return {
    targetRate: rate,
    requests: total,
    ok,
    non2xx,
    errors,
    seconds: seconds_,
    requestsPerSecond: (ok + non2xx) / seconds_,
    okPerSecond: ok / seconds_,
    latencyMs: percentiles(latencies),
  };
}
