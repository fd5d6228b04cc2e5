// A Jaeger of a test's own, and reading traces back from it through its query API (the JSON the UI uses).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startJaeger, type Jaeger } from '../../scripts/jaeger/jaeger';
import { testPort } from './kafka';
import { waitFor } from './wait';

/** A Jaeger of a test's own, its six ports from `TEST_PORT_BASE` + `offset` on. */
export async function startTestJaeger(offset: number): Promise<Jaeger> {
  return startJaeger({
    dir: mkdtempSync(path.join(tmpdir(), 'jaeger-')),
    ports: {
      otlpGrpc: testPort(offset),
      otlpHttp: testPort(offset + 1),
      query: testPort(offset + 2),
      queryGrpc: testPort(offset + 3),
      health: testPort(offset + 4),
      metrics: testPort(offset + 5),
    },
  });
}

export interface TraceSpan {
  traceId: string;
  spanId: string;
  /** The CHILD_OF reference: the parent span, in this trace. */
  parentId: string | undefined;
  service: string;
  name: string;
  kind: string | undefined;
  tags: Record<string, unknown>;
  /** Span events (Jaeger calls them logs), each as its fields. */
  events: Record<string, unknown>[];
}

interface JaegerTrace {
  traceID: string;
  spans: {
    traceID: string;
    spanID: string;
    operationName: string;
    processID: string;
    references?: { refType: string; spanID: string }[];
    tags?: { key: string; value: unknown }[];
    logs?: { fields: { key: string; value: unknown }[] }[];
  }[];
  processes: Record<string, { serviceName: string }>;
}

function fields(list: { key: string; value: unknown }[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map(({ key, value }) => [key, value]));
}

function toSpans(trace: JaegerTrace): TraceSpan[] {
  return trace.spans.map((span) => {
    const tags = fields(span.tags);
    return {
      traceId: span.traceID,
      spanId: span.spanID,
      parentId: span.references?.find((reference) => reference.refType === 'CHILD_OF')?.spanID,
      service: trace.processes[span.processID]?.serviceName ?? '?',
      name: span.operationName,
      kind: typeof tags['span.kind'] === 'string' ? tags['span.kind'] : undefined,
      tags,
      events: (span.logs ?? []).map((log) => fields(log.fields)),
    };
  });
}

async function getJson(url: string): Promise<{ data: JaegerTrace[] | null }> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as { data: JaegerTrace[] | null };
}

/** The traces of `service` that hold a span with all of `tags`. */
export async function findTraces(
  queryUrl: string,
  { service, tags, limit = 100 }: { service: string; tags: Record<string, string>; limit?: number },
): Promise<TraceSpan[][]> {
  const query = new URLSearchParams({ service, tags: JSON.stringify(tags), limit: String(limit), lookback: '1h' });
  const { data } = await getJson(`${queryUrl}/api/traces?${query}`);
  return (data ?? []).map(toSpans);
}

export async function getTrace(queryUrl: string, traceId: string): Promise<TraceSpan[]> {
  const { data } = await getJson(`${queryUrl}/api/traces/${traceId}`);
  const trace = data?.[0];
  if (!trace) throw new Error(`trace ${traceId} not found`);
  return toSpans(trace);
}

/** The chain of parents of `span`, nearest first, within its trace. */
export function ancestorsOf(span: TraceSpan, trace: TraceSpan[]): TraceSpan[] {
  const byId = new Map(trace.map((each) => [each.spanId, each]));
  const chain: TraceSpan[] = [];
  for (let parent = byId.get(span.parentId ?? ''); parent; parent = byId.get(parent.parentId ?? '')) {
    if (chain.includes(parent)) break;
    chain.push(parent);
  }
  return chain;
}

/**
 * The trace of event `id`, once `needs` holds for it (the consumer's spans arrive later than the
 * producer's): found by the producer's send span of a one-event request, which names the event,
 * or else by the consumer's process span (a batch request's one send span names no event).
 */
export function waitForEventTrace(
  queryUrl: string,
  id: string,
  needs: (spans: TraceSpan[]) => boolean,
  { timeoutMs = 60_000, intervalMs = 250 } = {},
): Promise<TraceSpan[]> {
  return waitFor(
    `the trace of event ${id} in Jaeger`,
    async () => {
      const found =
        (await findTraces(queryUrl, { service: 'producer', tags: { 'messaging.message.id': id } }))[0] ??
        (await findTraces(queryUrl, { service: 'consumer', tags: { 'cloudevents.event_id': id } }))[0];
      if (!found) return undefined;
      const spans = await getTrace(queryUrl, found[0]!.traceId);
      return needs(spans) ? spans : undefined;
    },
    { timeoutMs, intervalMs },
  );
}
