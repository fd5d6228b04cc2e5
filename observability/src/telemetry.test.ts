import path from 'node:path';
import { defaultTextMapSetter, propagation, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import {
  createTelemetry,
  identifyService,
  instrumentationsFor,
  isOperationalRequest,
  propagatorFor,
} from './telemetry';

const root = path.resolve(__dirname, '../..');

describe('the telemetry bootstrap', () => {
  it("names each service after its package, as the contract's service.name", () => {
    expect(identifyService(path.join(root, 'producer/dist/main.js'))).toEqual({ name: 'producer', version: '0.1.0' });
    expect(identifyService(path.join(root, 'consumer/dist/main.js'))).toEqual({ name: 'consumer', version: '0.1.0' });
  });

  it('names nothing when the program has no package', () => {
    expect(identifyService(undefined)).toBeUndefined();
    expect(identifyService('/main.js')).toBeUndefined();
  });

  it('leaves probes and scrapes out of the traces, and nothing else', () => {
    for (const url of ['/metrics', '/health', '/health/ready', '/health/live?verbose=1']) {
      expect(isOperationalRequest(url)).toBe(true);
    }
    for (const url of ['/events', '/healthy', '/schemas', undefined]) expect(isOperationalRequest(url)).toBe(false);
  });
});

describe('the instrumentations', () => {
  const names = (service: string): string[] => {
    const instrumentations = instrumentationsFor({ name: service });
    // Constructing one patches its module: undo it for the rest of the run.
    for (const instrumentation of instrumentations) instrumentation.disable();
    return instrumentations.map((instrumentation) => instrumentation.instrumentationName);
  };

  it('leave KafkaJS to the publisher in the producer, which makes its own send spans', () => {
    expect(names('producer')).not.toContain('@opentelemetry/instrumentation-kafkajs');
    expect(names('producer')).toEqual(
      expect.arrayContaining(['@opentelemetry/instrumentation-http', '@opentelemetry/instrumentation-pino']),
    );
  });

  it('leave Koa out: the producer names its server span by the route itself, with no span per router layer', () => {
    expect(names('producer')).not.toContain('@opentelemetry/instrumentation-koa');
  });

  it('leave KafkaJS to the consumer too, which makes its process and dead-letter spans itself under eachBatch', () => {
    expect(names('consumer')).not.toContain('@opentelemetry/instrumentation-kafkajs');
    expect(names('consumer')).toEqual(
      expect.arrayContaining(['@opentelemetry/instrumentation-http', '@opentelemetry/instrumentation-pino']),
    );
  });

  it('are not even constructed when OTEL_SDK_DISABLED=true', () => {
    expect(createTelemetry({ OTEL_SDK_DISABLED: 'TRUE' }, path.join(root, 'producer/dist/main.js'))).toBeUndefined();
  });
});

// Issue 29: the SDK's default propagators carried a client's `baggage` header into every record.
describe('the propagators', () => {
  const injected = (env: Record<string, string>): Record<string, string> | undefined => {
    const propagator = propagatorFor(env);
    if (!propagator) return undefined;
    const parent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.SAMPLED,
    });
    const context = propagation.setBaggage(parent, propagation.createBaggage({ user: { value: 'alice' } }));
    const carrier: Record<string, string> = {};
    propagator.inject(context, carrier, defaultTextMapSetter);
    return carrier;
  };

  it('carry the trace context on and drop baggage when OTEL_PROPAGATORS names none', () => {
    expect(injected({})).toEqual({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
  });

  it('are left to the SDK when OTEL_PROPAGATORS names some (baggage only when asked for)', () => {
    expect(injected({ OTEL_PROPAGATORS: 'tracecontext,baggage' })).toBeUndefined();
  });
});
