import {
  KafkaJSConnectionError,
  KafkaJSGroupCoordinatorNotFound,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSSASLAuthenticationError,
} from 'kafkajs';
import { EnvelopeError } from './envelope';
import { PipelineError } from './errors';
import { isRetriable } from './retriable';

const refusedTopic = (): Error =>
  new KafkaJSProtocolError({
    message: 'Not authorized to access topics',
    type: 'TOPIC_AUTHORIZATION_FAILED',
    code: 29,
    retriable: false,
  } as never);

describe('isRetriable', () => {
  it('takes anything without a say for retriable: plain errors, strings, undefined', () => {
    expect(isRetriable(new Error('x'))).toBe(true);
    expect(isRetriable(new TypeError('x'))).toBe(true);
    expect(isRetriable('text')).toBe(true);
    expect(isRetriable(undefined)).toBe(true);
  });

  it('when an error of ours or a handler says retriable: false, then it is not retriable', () => {
    expect(isRetriable(new EnvelopeError('no ce_id'))).toBe(false);
    expect(isRetriable(Object.assign(new Error('bad data'), { retriable: false }))).toBe(false);
  });

  it('asks an error of ours what it says, through the base every one of them has', () => {
    class Temporary extends PipelineError {
      readonly retriable = true;
    }
    class Permanent extends PipelineError {
      readonly retriable = false;
    }
    expect(isRetriable(new Temporary('later'))).toBe(true);
    expect(isRetriable(new Permanent('never'))).toBe(false);
    expect(isRetriable(new Temporary('wraps', { cause: new Permanent('never') }))).toBe(false);
  });

  it("judges KafkaJS's errors by their class, not by a name that looks like one", () => {
    const lookalike = Object.assign(new Error('gave up'), { name: 'KafkaJSNumberOfRetriesExceeded', retriable: false });
    expect(isRetriable(lookalike)).toBe(false);
  });

  it('when Kafka answered no (a non-retriable protocol error, a refused login), then it is not retriable', () => {
    expect(isRetriable(refusedTopic())).toBe(false);
    expect(
      isRetriable(
        new (KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error)(
          'SASL PLAIN authentication failed',
        ),
      ),
    ).toBe(false);
  });

  it('when KafkaJS only gave up its own retries, then what it wraps decides', () => {
    const unreachable = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED');
    expect(isRetriable(new KafkaJSNumberOfRetriesExceeded(unreachable, { cause: unreachable } as never))).toBe(true);
    const refused = refusedTopic();
    const gaveUp = new KafkaJSNonRetriableError(refused);
    Object.assign(gaveUp, { cause: refused }); // as KafkaJS's retrier sets it
    expect(isRetriable(gaveUp)).toBe(false);
    expect(
      isRetriable(new (KafkaJSGroupCoordinatorNotFound as unknown as new (message: string) => Error)('no coordinator')),
    ).toBe(true);
  });

  it('walks the cause chain and aggregated errors, and survives cycles', () => {
    const wrapped = new Error('create topic failed', { cause: new Error('inner', { cause: refusedTopic() }) });
    expect(isRetriable(wrapped)).toBe(false);
    expect(isRetriable(new AggregateError([new Error('a'), refusedTopic()], 'topics'))).toBe(false);
    expect(isRetriable(new AggregateError([new Error('a'), new Error('b')], 'topics'))).toBe(true);
    const cyclic = new Error('loop') as Error & { cause?: unknown };
    cyclic.cause = cyclic;
    expect(isRetriable(cyclic)).toBe(true);
  });
});
