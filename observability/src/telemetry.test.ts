import path from 'node:path';
import { createTelemetry, identifyService, instrumentationsFor, isOperationalRequest } from './telemetry';

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
