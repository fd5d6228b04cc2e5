import { BatchSpanProcessor, TracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { watchSpanQueue } from './span-queue';

describe("the span queue's fill", () => {
  it('rises as ended spans wait for an export and falls once they are exported', async () => {
    const pending: Array<(result: ExportResult) => void> = [];
    const exporter: SpanExporter = {
      export: (_spans: ReadableSpan[], done) => void pending.push(done),
      shutdown: async () => undefined,
    };
    const queue = watchSpanQueue(100);
    const processor = new BatchSpanProcessor({
      exporter,
      maxQueueSize: 100,
      maxExportBatchSize: 10,
      scheduledDelayMillis: 60_000,
      selfObsMeterProvider: queue.meterProvider,
    });
    const tracer = new TracerProvider({ spanProcessors: [processor] }).getTracer('test');
    expect(queue.fill()).toBe(0);
    // The first 10 go out at once in one export, which the exporter holds: the next 50 wait.
    for (let index = 0; index < 60; index++) tracer.startSpan(`span ${index}`).end();
    expect(queue.fill()).toBe(0.5);
    while (pending.length > 0) {
      pending.shift()!({ code: ExportResultCode.SUCCESS });
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(queue.fill()).toBe(0);
    await processor.shutdown();
  });
});
