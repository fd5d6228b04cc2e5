import type { Server } from 'node:http';
import { TraceFlags } from '@opentelemetry/api';
import { listen } from './lifecycle';
import { createLogger } from './logger';
import { createExemplarHistogram, createMetricsRegistry, traceExemplar } from './metrics';
import { createOpsServer } from './ops-server';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('the ops server', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    const registry = createMetricsRegistry();
    createExemplarHistogram({ name: 'test_latency_seconds', help: 'Latency.', registers: [registry] }).observe({
      value: 0.2,
      exemplarLabels: traceExemplar({ traceId: TRACE_ID, spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED }),
    });
    server = createOpsServer({
      registry,
      isReady: () => true,
      logger: createLogger({ service: 'test', level: 'silent' }),
    });
    url = `http://127.0.0.1:${await listen(server, 0, '127.0.0.1')}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('answers a Prometheus scrape with OpenMetrics and its exemplars', async () => {
    const response = await fetch(`${url}/metrics`, {
      headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(response.headers.get('vary')).toBe('accept');
    const body = await response.text();
    expect(body).toContain(`test_latency_seconds_bucket{le="0.25"} 1 # {trace_id="${TRACE_ID}"} 0.2 `);
    expect(body).toContain('process_cpu_user_seconds_total');
  });

  it('answers curl with the classic text format, without exemplars', async () => {
    const response = await fetch(`${url}/metrics`, { headers: { accept: '*/*' } });
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const body = await response.text();
    expect(body).toMatch(/^test_latency_seconds_bucket\{le="0.25"\} 1$/m);
    expect(body).not.toContain('trace_id');
  });
});
