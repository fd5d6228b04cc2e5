import { plotSvg, SERIES, trends, type Sample, type SeriesName } from '../reliability/soak/trend';

const MIB = 1024 * 1024;

/** Samples whose every series follows `value(series, minute)`. */
function samples(count: number, value: (series: SeriesName, minute: number) => number): Sample[] {
  return Array.from({ length: count }, (_, index) => {
    const minute = index + 1;
    const values = Object.fromEntries(
      (Object.keys(SERIES) as SeriesName[]).map((series) => [series, value(series, minute)]),
    ) as Record<SeriesName, number>;
    return { minute, values };
  });
}

describe('soak trends', () => {
  it('passes flat series and noise around a level, judged after the warm-up', () => {
    // A warm-up climb in the first two minutes, then flat with noise.
    const judged = trends(
      samples(10, (series, minute) => (minute <= 2 ? minute * 50 * MIB : 200 * MIB + (minute % 2) * MIB)),
    );
    expect(judged.every((trend) => trend.passed)).toBe(true);
    expect(Math.abs(judged[0]!.slopePerMinute)).toBeLessThan(0.2 * MIB);
  });

  it('fails a series that grows beyond its tolerance, and says by how much', () => {
    // The producer's RSS grows 8 MiB a minute: 56 MiB over minutes 3..10, over 10 % of ~230 MiB.
    const judged = trends(
      samples(10, (series, minute) => (series === 'producer_rss_bytes' ? 200 * MIB + minute * 8 * MIB : 100)),
    );
    const rss = judged.find((trend) => trend.series === 'producer_rss_bytes')!;
    expect(rss.slopePerMinute).toBeCloseTo(8 * MIB, 0);
    expect(rss.growth).toBeCloseTo(56 * MIB, 0);
    expect(rss.passed).toBe(false);
    expect(judged.filter((trend) => !trend.passed).map((trend) => trend.series)).toEqual(['producer_rss_bytes']);
  });

  it('allows a small absolute growth on a series near zero (the floor), and needs three samples to judge', () => {
    const judged = trends(samples(6, (series, minute) => (series === 'consumer_lag_events' ? minute * 100 : 1)));
    expect(judged.find((trend) => trend.series === 'consumer_lag_events')!.passed).toBe(true);
    expect(() => trends(samples(4, () => 1))).toThrow('a trend needs at least 3 samples after the 2 of warm-up, got 2');
  });

  it('draws one panel per series, marking the one that grows', () => {
    const series = samples(6, (name, minute) => (name === 'http_p99_seconds' ? minute : 1));
    const svg = plotSvg(series, trends(series), 'soak <test>');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('soak &lt;test>');
    expect(svg.match(/<polyline/g)).toHaveLength(2 * Object.keys(SERIES).length);
    expect(svg).toContain('http_p99_seconds: GROWS');
    expect(svg).toContain('producer_rss_bytes: flat');
  });
});
