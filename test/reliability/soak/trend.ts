// The arithmetic of the soak (no I/O, unit-tested in test/unit/soak-trend.test.ts): a
// least-squares line through each series, the growth it predicts over the run, and whether
// that stays within the series' tolerance.
import { linearRegression, mean } from 'simple-statistics';

/** What the soak records once a minute. */
export const SERIES = {
  producer_rss_bytes: { unit: 'bytes', relative: 0.1, floor: 16 * 1024 * 1024 },
  producer_heap_bytes: { unit: 'bytes', relative: 0.1, floor: 16 * 1024 * 1024 },
  // Latencies: a leak or a queue that grows shows as multiples, while a shared machine moves them
  // by milliseconds from minute to minute; so half the mean, and never less than 25 ms.
  producer_event_loop_p99_seconds: { unit: 'seconds', relative: 0.5, floor: 0.025 },
  producer_open_fds: { unit: 'count', relative: 0.1, floor: 8 },
  consumer_rss_bytes: { unit: 'bytes', relative: 0.1, floor: 16 * 1024 * 1024 },
  consumer_heap_bytes: { unit: 'bytes', relative: 0.1, floor: 16 * 1024 * 1024 },
  consumer_event_loop_p99_seconds: { unit: 'seconds', relative: 0.5, floor: 0.025 },
  consumer_open_fds: { unit: 'count', relative: 0.1, floor: 8 },
  http_p99_seconds: { unit: 'seconds', relative: 0.5, floor: 0.025 },
  consumer_lag_events: { unit: 'events', relative: 0.5, floor: 1000 },
} as const satisfies Record<string, { unit: string; relative: number; floor: number }>;

export type SeriesName = keyof typeof SERIES;

/** One minute's reading: minutes since the load began, and a value per series. */
export interface Sample {
  minute: number;
  values: Record<SeriesName, number>;
}

export interface Trend {
  series: SeriesName;
  unit: string;
  /** Least-squares slope, per minute, and the line's value at minute 0. */
  slopePerMinute: number;
  intercept: number;
  mean: number;
  /** Growth the line predicts from the first judged sample to the last: slope × span. */
  growth: number;
  /** The most growth allowed: `relative` of the mean, but never less than `floor`. */
  tolerance: number;
  passed: boolean;
}

/**
 * The trend of every series over the samples after the first `warmup` (a process's memory and
 * the JIT settle in the first minutes). Needs at least three samples to judge.
 */
export function trends(samples: Sample[], warmup = 2): Trend[] {
  const judged = samples.slice(warmup);
  if (judged.length < 3) {
    throw new Error(`a trend needs at least 3 samples after the ${warmup} of warm-up, got ${judged.length}`);
  }
  const span = judged[judged.length - 1]!.minute - judged[0]!.minute;
  return (Object.keys(SERIES) as SeriesName[]).map((series) => {
    const { unit, relative, floor } = SERIES[series];
    const points = judged.map((sample) => [sample.minute, sample.values[series]] as [number, number]);
    const { m: slopePerMinute, b: intercept } = linearRegression(points);
    const average = mean(points.map(([, value]) => value));
    const growth = slopePerMinute * span;
    const tolerance = Math.max(relative * Math.abs(average), floor);
    return { series, unit, slopePerMinute, intercept, mean: average, growth, tolerance, passed: growth <= tolerance };
  });
}

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** Small multiples: one panel per series, its samples as a line and the fitted trend dashed. */
export function plotSvg(samples: Sample[], judged: Trend[], title: string): string {
  const width = 300;
  const height = 120;
  const columns = 2;
  const pad = { left: 8, right: 8, top: 28, bottom: 16 };
  const panels = judged.map((trend, index) => {
    const x0 = (index % columns) * width;
    const y0 = 30 + Math.floor(index / columns) * height;
    const values = samples.map((sample) => sample.values[trend.series]);
    const minutes = samples.map((sample) => sample.minute);
    const [low, high] = [Math.min(0, ...values), Math.max(...values, 1e-12)];
    const [first, last] = [minutes[0] ?? 0, minutes[minutes.length - 1] ?? 1];
    const sx = (minute: number): number =>
      x0 + pad.left + ((minute - first) / Math.max(last - first, 1)) * (width - pad.left - pad.right);
    const sy = (value: number): number =>
      y0 + height - pad.bottom - ((value - low) / (high - low)) * (height - pad.top - pad.bottom);
    const line = samples.map(
      (sample) => `${sx(sample.minute).toFixed(1)},${sy(sample.values[trend.series]).toFixed(1)}`,
    );
    const fitted = [first, last].map((minute) => {
      const value = trend.intercept + trend.slopePerMinute * minute;
      return `${sx(minute).toFixed(1)},${sy(value).toFixed(1)}`;
    });
    const label = `${trend.series}: ${trend.passed ? 'flat' : 'GROWS'} (${trend.growth.toPrecision(3)} ${trend.unit} over the run, allowed ${trend.tolerance.toPrecision(3)})`;
    return [
      `<text x="${x0 + pad.left}" y="${y0 + 16}" font-size="10">${escape(label)}</text>`,
      `<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="${line.join(' ')}"/>`,
      `<polyline fill="none" stroke="${trend.passed ? '#2ca02c' : '#d62728'}" stroke-dasharray="4 3" points="${fitted.join(' ')}"/>`,
    ].join('\n');
  });
  const rows = Math.ceil(judged.length / columns);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${columns * width}" height="${30 + rows * height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="8" y="18" font-size="12">${escape(title)}</text>`,
    ...panels,
    '</svg>',
    '',
  ].join('\n');
}
