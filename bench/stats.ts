// Pure arithmetic of the bench: percentiles of samples and of Prometheus histograms, and the
// ratios the report is about. No I/O here, so it has unit tests beside it.

export interface Percentiles {
  p50: number;
  p99: number;
  p999: number;
}

/** Nearest-rank percentile of ascending-sorted samples; NaN when there are none. */
export function percentileOfSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function percentiles(samples: Float64Array): Percentiles {
  const sorted = Float64Array.from(samples).sort();
  return {
    p50: percentileOfSorted(sorted, 0.5),
    p99: percentileOfSorted(sorted, 0.99),
    p999: percentileOfSorted(sorted, 0.999),
  };
}

/** One bucket of a Prometheus histogram: `count` observations were <= `le` (cumulative). */
export interface HistogramBucket {
  le: number;
  count: number;
}

/**
 * The q-quantile of a cumulative Prometheus histogram, interpolated linearly inside the bucket
 * that holds it, as PromQL's histogram_quantile does (the first bucket starts at 0; a quantile
 * in the +Inf bucket is the highest finite bound). NaN when the histogram is empty.
 */
export function histogramQuantile(buckets: HistogramBucket[], q: number): number {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of sorted) {
    if (bucket.count >= rank) {
      if (bucket.le === Number.POSITIVE_INFINITY) return lowerBound;
      const inBucket = bucket.count - lowerCount;
      if (inBucket === 0) return bucket.le;
      return lowerBound + ((bucket.le - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = bucket.le;
    lowerCount = bucket.count;
  }
  return lowerBound;
}

/** The buckets of histogram `name` (all label sets summed) in Prometheus text exposition. */
export function parseHistogram(metricsText: string, name: string): HistogramBucket[] {
  const counts = new Map<number, number>();
  const pattern = new RegExp(`^${name}_bucket\\{([^}]*)\\}\\s+(\\S+)`);
  for (const line of metricsText.split('\n')) {
    const match = pattern.exec(line);
    if (!match) continue;
    const le = /(?:^|,)le="([^"]+)"/.exec(match[1]!)?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    counts.set(bound, (counts.get(bound) ?? 0) + Number(match[2]));
  }
  return [...counts].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

/** The sum of every sample of `name` whose labels include all of `labels`, in Prometheus text. */
export function sumSamples(metricsText: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  const pattern = new RegExp(`^${name}(?:\\{([^}]*)\\})?\\s+(\\S+)`);
  for (const line of metricsText.split('\n')) {
    const match = pattern.exec(line);
    if (!match) continue;
    const text = match[1] ?? '';
    if (Object.entries(labels).every(([key, value]) => text.includes(`${key}="${value}"`))) sum += Number(match[2]);
  }
  return sum;
}

/** numerator / denominator, or null when either is missing or the denominator is 0. */
export function ratio(numerator: number | undefined, denominator: number | undefined): number | null {
  if (numerator === undefined || denominator === undefined) return null;
  if (!Number.isFinite(numerator) || !Number.isFinite(denominator) || denominator === 0) return null;
  return numerator / denominator;
}

/** Rounds for the JSON and the report: 3 significant digits keeps ratios and rates readable. */
export function round(value: number | null, digits = 3): number | null {
  if (value === null || !Number.isFinite(value)) return null;
  if (value === 0) return 0;
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const factor = 10 ** Math.max(0, digits - 1 - magnitude);
  return Math.round(value * factor) / factor;
}

/** The median of the values that are numbers (the mean of the middle two for an even count), or null. */
export function median(values: Array<number | null | undefined>): number | null {
  const sorted = values
    .filter((value): value is number => typeof value === 'number' && Number.isFinite(value))
    .sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Median, lowest and highest of the values that are numbers, or null when there are none. */
export function spreadOf(
  values: Array<number | null | undefined>,
): { median: number; min: number; max: number } | null {
  const numbers = values.filter((value): value is number => typeof value === 'number' && Number.isFinite(value));
  const middle = median(numbers);
  if (middle === null) return null;
  return { median: middle, min: Math.min(...numbers), max: Math.max(...numbers) };
}

/**
 * A ratio of two systems measured in the same rounds: computed round by round (a round's two
 * runs shared the machine's state), then the median and range of those ratios. Rounds where
 * either figure is missing are left out.
 */
export function perRoundRatio(
  numerators: Array<number | null | undefined>,
  denominators: Array<number | null | undefined>,
): { median: number; min: number; max: number } | null {
  const ratios = numerators.map((numerator, index) => ratio(numerator ?? undefined, denominators[index] ?? undefined));
  return spreadOf(ratios);
}
