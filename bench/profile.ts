// Reads a V8 CPU profile (node --cpu-prof) and says where the time went: self time per function
// and per package (node_modules package, our workspaces, Node's core), and the time spent
// anywhere under a package's frames (inclusive), which is what a package costs the caller.
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileEntry {
  name: string;
  ms: number;
  /** Share of the busy time (everything but idle). */
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  /** Self time per package or kind of frame. */
  packages: ProfileEntry[];
  /** Self time of families of packages (all of OpenTelemetry's, all of Koa's). */
  groups: ProfileEntry[];
  /** Time with a frame of the package anywhere on the stack. */
  inclusive: ProfileEntry[];
  functions: ProfileEntry[];
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** What a frame belongs to: an npm package, one of our workspaces, Node's core, or V8. */
export function packageOf(frame: CallFrame): string {
  if (SPECIAL.has(frame.functionName)) return frame.functionName;
  const url = frame.url;
  if (!url) return '(V8 builtins and native)';
  if (url.startsWith('node:')) return 'node core';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [first, second] = url.slice(modules + '/node_modules/'.length).split('/');
    return first?.startsWith('@') ? `${first}/${second}` : (first ?? url);
  }
  const workspace = /\/(producer|consumer|common|observability)\/(?:dist|src)\//.exec(url);
  if (workspace) return `@event-pipeline/${workspace[1]}`;
  return url;
}

function shortFile(url: string): string {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  const workspace = /\/((?:producer|consumer|common|observability)\/(?:dist|src)\/.*)$/.exec(url);
  return workspace?.[1] ?? url.replace(/^file:\/\//, '');
}

function top(map: Map<string, number>, busyMs: number, count: number): ProfileEntry[] {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, ms]) => ({ name, ms: Math.round(ms), share: busyMs > 0 ? ms / busyMs : 0 }));
}

/** Packages that count as one thing to a reader: OpenTelemetry's many, Koa's few. */
export function groupOf(pkg: string): string | undefined {
  if (pkg.startsWith('@opentelemetry/') || pkg === 'require-in-the-middle' || pkg === 'import-in-the-middle') {
    return 'OpenTelemetry (all @opentelemetry/* and its module hooks)';
  }
  if (pkg === 'koa' || pkg.startsWith('koa-') || pkg.startsWith('@koa/')) return 'Koa (koa, koa-*, @koa/*)';
  return undefined;
}

/**
 * Summarises the samples taken after `skipMs` from the profile's start (leaving out start-up:
 * module loading and connecting are not the hot path).
 */
export function summarizeProfile(profile: CpuProfile, count = 20, skipMs = 0): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfMs = selfMsByNode(profile, skipMs);

  const packages = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const functions = new Map<string, number>();
  const groups = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  for (const [id, ms] of selfMs) {
    const node = byId.get(id);
    if (!node) continue;
    totalMs += ms;
    const pkg = packageOf(node.callFrame);
    if (pkg === '(idle)') {
      idleMs += ms;
      continue;
    }
    packages.set(pkg, (packages.get(pkg) ?? 0) + ms);
    const group = groupOf(pkg);
    if (group) groups.set(group, (groups.get(group) ?? 0) + ms);
    const fn = functionLabel(node.callFrame);
    functions.set(fn, (functions.get(fn) ?? 0) + ms);
    const onStack = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frameNode = byId.get(at);
      if (frameNode) onStack.add(packageOf(frameNode.callFrame));
    }
    for (const name of onStack) {
      if (SPECIAL.has(name)) continue;
      inclusive.set(name, (inclusive.get(name) ?? 0) + ms);
    }
  }
  const busyMs = totalMs - idleMs;
  return {
    totalMs: Math.round(totalMs),
    busyMs: Math.round(busyMs),
    packages: top(packages, busyMs, count),
    groups: top(groups, busyMs, count),
    inclusive: top(inclusive, busyMs, count),
    functions: top(functions, busyMs, count),
  };
}

/** Self time per profile node of the samples taken from `skipMs` on, in milliseconds. */
function selfMsByNode(profile: CpuProfile, skipMs: number): Map<number, number> {
  const selfMs = new Map<number, number>();
  let elapsedMs = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    elapsedMs += ms;
    if (elapsedMs >= skipMs) selfMs.set(id, (selfMs.get(id) ?? 0) + ms);
  });
  return selfMs;
}

/** A function as the reports name it: `name file:line`. */
function functionLabel(frame: CallFrame): string {
  const where = frame.url ? ` ${shortFile(frame.url)}:${frame.lineNumber + 1}` : '';
  return `${frame.functionName || '(anonymous)'}${where}`;
}

/**
 * Self time per function (`name file:line`) of the samples after `skipMs`, and the busy time
 * they add up to (idle left out), in milliseconds.
 */
export function selfTimeByFunction(
  profile: CpuProfile,
  skipMs = 0,
): { busyMs: number; functions: Map<string, number> } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const functions = new Map<string, number>();
  let busyMs = 0;
  for (const [id, ms] of selfMsByNode(profile, skipMs)) {
    const node = byId.get(id);
    if (!node || packageOf(node.callFrame) === '(idle)') continue;
    busyMs += ms;
    const fn = functionLabel(node.callFrame);
    functions.set(fn, (functions.get(fn) ?? 0) + ms);
  }
  return { busyMs, functions };
}

export interface ProfileDiffRow {
  name: string;
  /** Microseconds of CPU per event in the first profile and in the second. */
  before: number;
  after: number;
}

/**
 * Where two profiles of the same path differ (say, telemetry off and on), per event: each
 * function's share of its profile's busy time times the CPU per event measured outside the
 * profiler, largest increase first.
 */
export function diffProfiles(
  before: { profile: CpuProfile; cpuMsPerEvent: number; skipMs?: number },
  after: { profile: CpuProfile; cpuMsPerEvent: number; skipMs?: number },
): ProfileDiffRow[] {
  const perEvent = (side: typeof before): Map<string, number> => {
    const { busyMs, functions } = selfTimeByFunction(side.profile, side.skipMs);
    const scale = busyMs > 0 ? (side.cpuMsPerEvent * 1000) / busyMs : 0;
    return new Map([...functions].map(([name, ms]) => [name, ms * scale]));
  };
  const [a, b] = [perEvent(before), perEvent(after)];
  return [...new Set([...a.keys(), ...b.keys()])]
    .map((name) => ({ name, before: a.get(name) ?? 0, after: b.get(name) ?? 0 }))
    .sort((x, y) => y.after - y.before - (x.after - x.before));
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}

/**
 * The profile as folded stacks (`root;caller;callee <microseconds>` per line), which flame-graph
 * tools read (flamegraph.pl, inferno, speedscope). Samples before `skipMs` are left out.
 */
export function foldedStacks(profile: CpuProfile, skipMs = 0): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const weights = new Map<number, number>();
  let elapsedMs = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    elapsedMs += us / 1000;
    if (elapsedMs >= skipMs) weights.set(id, (weights.get(id) ?? 0) + us);
  });
  const lines: string[] = [];
  for (const [id, us] of weights) {
    const frames: string[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (!frame || frame.functionName === '(root)') continue;
      const name = `${frame.functionName || '(anonymous)'} [${packageOf(frame)}]`.replace(/[;\n]/g, ',');
      frames.push(name);
    }
    if (frames.length > 0 && us > 0) lines.push(`${frames.reverse().join(';')} ${us}`);
  }
  return `${lines.join('\n')}\n`;
}
