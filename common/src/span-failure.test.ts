import { SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { startTestTracing, type TestTracing } from '../../test/support/tracing';
import { recordFailure, recordFailureAs } from './span-failure';

describe('a failed span', () => {
  let tracing: TestTracing;
  beforeAll(() => (tracing = startTestTracing()));
  afterAll(() => tracing.stop());
  beforeEach(() => tracing.exporter.reset());

  const ended = (mark: (span: Span) => void) => {
    const span = trace.getTracer('test').startSpan('work');
    mark(span);
    span.end();
    const [finished] = tracing.exporter.getFinishedSpans();
    return { status: finished!.status, attributes: finished!.attributes };
  };

  it("says what was thrown: the error's class as error.type, its message as the status's", () => {
    expect(ended((span) => recordFailure(span, new RangeError('out of range')))).toEqual({
      status: { code: SpanStatusCode.ERROR, message: 'out of range' },
      attributes: { 'error.type': 'RangeError' },
    });
  });

  it('says what was thrown when it was no Error', () => {
    expect(ended((span) => recordFailure(span, 'gave up'))).toEqual({
      status: { code: SpanStatusCode.ERROR, message: 'gave up' },
      attributes: { 'error.type': 'string' },
    });
  });

  it('takes the type a convention names, with a message or none', () => {
    expect(ended((span) => recordFailureAs(span, 'timeout', 'no ack'))).toEqual({
      status: { code: SpanStatusCode.ERROR, message: 'no ack' },
      attributes: { 'error.type': 'timeout' },
    });
    tracing.exporter.reset();
    expect(ended((span) => recordFailureAs(span, '503'))).toEqual({
      status: { code: SpanStatusCode.ERROR },
      attributes: { 'error.type': '503' },
    });
  });
});
