import { createNoopMeter, type Meter, type MeterProvider, type ObservableCallback } from '@opentelemetry/api';

// The SDK's own gauge of a span processor's queue (semantic conventions, otel.sdk.* metrics).
const QUEUE_SIZE = 'otel.sdk.processor.span.queue.size';

/**
 * How full the batch span processor's queue is, read from the gauge the SDK reports it by: the
 * processor is given this meter provider for its own metrics, and the queue-size callback it
 * registers is called on demand (nothing else is recorded). A service that makes spans faster
 * than they are exported can then wait instead of having them dropped.
 */
export function watchSpanQueue(capacity: number): { meterProvider: MeterProvider; fill(): number } {
  const callbacks: ObservableCallback[] = [];
  const noop = createNoopMeter();
  const meter: Meter = Object.assign(Object.create(noop) as Meter, {
    createObservableUpDownCounter: (...args: Parameters<Meter['createObservableUpDownCounter']>) => {
      const instrument = noop.createObservableUpDownCounter(...args);
      if (args[0] !== QUEUE_SIZE) return instrument;
      return Object.assign(Object.create(instrument) as typeof instrument, {
        addCallback: (callback: ObservableCallback) => void callbacks.push(callback),
        removeCallback: (callback: ObservableCallback) => void callbacks.splice(callbacks.indexOf(callback) >>> 0, 1),
      });
    },
  });
  let size = 0;
  const result = { observe: (value: number) => void (size += value) };
  return {
    meterProvider: { getMeter: () => meter },
    fill() {
      size = 0;
      for (const callback of callbacks) void callback(result);
      return capacity > 0 ? size / capacity : 0;
    },
  };
}
