// Prometheus' HTTP API, as the end-to-end tests read it.

interface ApiAnswer<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
}

async function api<T>(base: string, path: string, params: Record<string, string>): Promise<T> {
  const response = await fetch(`${base}${path}?${new URLSearchParams(params).toString()}`);
  const body = (await response.json()) as ApiAnswer<T>;
  if (body.status !== 'success') throw new Error(`${path}: ${body.error ?? response.status}`);
  return body.data;
}

export interface Target {
  labels: Record<string, string>;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
  scrapeUrl: string;
}

export async function promTargets(base: string): Promise<Target[]> {
  return (await api<{ activeTargets: Target[] }>(base, '/api/v1/targets', { state: 'active' })).activeTargets;
}

/** The series that match a selector now, e.g. `events_ingested_total{outcome="invalid"}`. */
export async function promSeries(base: string, selector: string): Promise<Record<string, string>[]> {
  const now = Date.now() / 1000;
  return api<Record<string, string>[]>(base, '/api/v1/series', {
    'match[]': selector,
    start: String(now - 300),
    end: String(now),
  });
}

/** The value of an instant query that yields one number (NaN when it yields nothing). */
export async function promQuery(base: string, query: string): Promise<number> {
  const data = await api<{ resultType: string; result: { value: [number, string] }[] }>(base, '/api/v1/query', {
    query,
  });
  const first = data.result[0];
  return first ? Number(first.value[1]) : Number.NaN;
}

export interface InstantSeries {
  metric: Record<string, string>;
  value: [number, string];
}

/** Every series an instant query yields now (a vector; a scalar answer is an error). */
export async function promInstant(base: string, query: string): Promise<InstantSeries[]> {
  const data = await api<{ resultType: string; result: InstantSeries[] }>(base, '/api/v1/query', { query });
  if (data.resultType !== 'vector') throw new Error(`${query}: a ${data.resultType}, not a vector`);
  return data.result;
}

export interface Exemplar {
  labels: Record<string, string>;
  value: string;
  timestamp: number;
}

/** The exemplars Prometheus keeps for a series selector over the last `seconds`. */
export async function queryExemplars(base: string, query: string, seconds = 600): Promise<Exemplar[]> {
  const now = Date.now() / 1000;
  const data = await api<{ seriesLabels: Record<string, string>; exemplars: Exemplar[] }[]>(
    base,
    '/api/v1/query_exemplars',
    { query, start: String(now - seconds), end: String(now) },
  );
  return data.flatMap((series) => series.exemplars);
}
