import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import {
  createTraceExportStatus,
  describeError,
  otlpProtocolOf,
  reportingExporter,
  traceEndpoint,
  type StatusLine,
} from './trace-export-status';

const endpoint = 'http://127.0.0.1:4318/v1/traces';
const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4318'), { code: 'ECONNREFUSED' });

function statusWithLines(): { status: ReturnType<typeof createTraceExportStatus>; lines: StatusLine[] } {
  const lines: StatusLine[] = [];
  return { status: createTraceExportStatus({ endpoint, write: (line) => lines.push(line) }), lines };
}

describe('the trace export status', () => {
  it('when the first export fails, then one warning names the endpoint, the error and how to turn tracing off', () => {
    const { status, lines } = statusWithLines();
    status.failed(refused);
    expect(lines).toEqual([
      expect.objectContaining({ level: 'warn', endpoint, err: 'connect ECONNREFUSED 127.0.0.1:4318' }),
    ]);
    expect(lines[0]!.hint).toMatch(/OTEL_SDK_DISABLED=true.*OTEL_TRACES_EXPORTER=none/);
  });

  it('when exports keep failing, then nothing more is said', () => {
    const { status, lines } = statusWithLines();
    for (let i = 0; i < 18; i += 1) status.failed(refused);
    status.failed(new Error('Request timed out'));
    expect(lines).toHaveLength(1);
  });

  it('when an export succeeds after failures, then its recovery is said once, at info, with how many failed', () => {
    const { status, lines } = statusWithLines();
    status.failed(refused);
    status.failed(refused);
    status.failed(refused);
    status.succeeded();
    status.succeeded();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toEqual(
      expect.objectContaining({ level: 'info', msg: 'trace export recovered', endpoint, failed_exports: 3 }),
    );
  });

  it('when exports succeed from the start, then nothing is said', () => {
    const { status, lines } = statusWithLines();
    status.succeeded();
    status.succeeded();
    expect(lines).toEqual([]);
  });

  it('when the backend goes away again after a recovery, then that is said again, once', () => {
    const { status, lines } = statusWithLines();
    status.failed(refused);
    status.succeeded();
    status.failed(refused);
    status.failed(refused);
    expect(lines.map((line) => line.level)).toEqual(['warn', 'info', 'warn']);
  });

  it("names the parts of Node's AggregateError, whose own message is empty", () => {
    const both = new AggregateError([
      new Error('connect ECONNREFUSED ::1:4318'),
      new Error('connect ECONNREFUSED 127.0.0.1:4318'),
    ]);
    expect(describeError(both)).toBe('connect ECONNREFUSED ::1:4318; connect ECONNREFUSED 127.0.0.1:4318');
    expect(describeError(Object.assign(new Error(''), { code: 'ECONNRESET' }))).toBe('ECONNRESET');
    expect(describeError('no')).toBe('no');
  });
});

describe('the reporting exporter', () => {
  const exporterAnswering = (...results: ExportResult[]) => ({
    export: (_spans: unknown[], done: (result: ExportResult) => void) => done(results.shift()!),
    shutdown: () => Promise.resolve(),
  });

  const exportOnce = (exporter: ReturnType<typeof reportingExporter>['exporter']): Promise<ExportResult> =>
    new Promise((resolve) => exporter.export([], resolve));

  it('when an export fails, then the status hears of it and the error is known as reported', async () => {
    const { status, lines } = statusWithLines();
    const { exporter, wasReported } = reportingExporter(
      exporterAnswering({ code: ExportResultCode.FAILED, error: refused }),
      status,
    );
    const result = await exportOnce(exporter);
    expect(result).toEqual({ code: ExportResultCode.FAILED, error: refused });
    expect(wasReported(refused)).toBe(true);
    expect(wasReported(new Error('something else'))).toBe(false);
    expect(lines).toHaveLength(1);
  });

  it('when a failure comes without an error, then it is given one, so that it is known as reported too', async () => {
    const { status } = statusWithLines();
    const { exporter, wasReported } = reportingExporter(exporterAnswering({ code: ExportResultCode.FAILED }), status);
    const result = await exportOnce(exporter);
    expect(result.error).toBeInstanceOf(Error);
    expect(wasReported(result.error)).toBe(true);
  });

  it('when an export succeeds after a failure, then the result passes through and the recovery is said', async () => {
    const { status, lines } = statusWithLines();
    const { exporter } = reportingExporter(
      exporterAnswering({ code: ExportResultCode.FAILED, error: refused }, { code: ExportResultCode.SUCCESS }),
      status,
    );
    await exportOnce(exporter);
    expect(await exportOnce(exporter)).toEqual({ code: ExportResultCode.SUCCESS });
    expect(lines.map((line) => line.level)).toEqual(['warn', 'info']);
  });
});

describe('the OTLP trace exporter the environment asks for', () => {
  it('is OTLP over HTTP/protobuf by default, and the protocol named otherwise', () => {
    expect(otlpProtocolOf({})).toBe('http/protobuf');
    expect(otlpProtocolOf({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toBe('grpc');
    expect(
      otlpProtocolOf({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }),
    ).toBe('http/json');
  });

  it('is left to the SDK for any other exporter, a list of them or a protocol it does not know', () => {
    for (const exporters of ['none', 'console', 'zipkin', 'otlp,console']) {
      expect(otlpProtocolOf({ OTEL_TRACES_EXPORTER: exporters })).toBeUndefined();
    }
    expect(otlpProtocolOf({ OTEL_EXPORTER_OTLP_PROTOCOL: 'carrier-pigeon' })).toBeUndefined();
  });

  it('sends where the OTLP settings say: the signal path added to the shared endpoint over HTTP only', () => {
    expect(traceEndpoint({}, 'http/protobuf')).toBe('http://localhost:4318/v1/traces');
    expect(traceEndpoint({}, 'grpc')).toBe('http://localhost:4317');
    expect(traceEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318/' }, 'http/json')).toBe(
      'http://jaeger:4318/v1/traces',
    );
    expect(traceEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4317' }, 'grpc')).toBe('http://jaeger:4317');
    expect(
      traceEndpoint(
        { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:9/traces' },
        'http/protobuf',
      ),
    ).toBe('http://b:9/traces');
  });
});
