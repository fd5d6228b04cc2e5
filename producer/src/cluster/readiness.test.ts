import { readinessOfWorkers } from './readiness';

describe('readinessOfWorkers', () => {
  it('is ready when every worker is running and ready', () => {
    expect(readinessOfWorkers([{ ready: true }, { ready: true }], 2)).toEqual({ ready: true });
  });

  it("is not ready while one live worker's Kafka producer is not, whatever the others say", () => {
    const kafkaDown = { ready: false, reason: 'kafka: Connection error: connect ECONNREFUSED 10.0.0.7:9092' };
    const readiness = readinessOfWorkers([{ ready: true }, kafkaDown, { ready: true }], 3);
    expect(readiness.ready).toBe(false);
    // The log gets Kafka's words; the probe's answer only the count.
    expect(readiness.reason).toBe('2 of 3 workers ready; kafka: Connection error: connect ECONNREFUSED 10.0.0.7:9092');
    expect(readiness.publicReason).toBe('2 of 3 workers ready');
  });

  it('is not ready while a worker is missing, even if the running ones are ready', () => {
    expect(readinessOfWorkers([{ ready: true }], 2)).toEqual({
      ready: false,
      reason: '1 of 2 workers ready',
      publicReason: '1 of 2 workers ready',
    });
  });

  it('is not ready before any worker has reported', () => {
    expect(readinessOfWorkers([], 2).ready).toBe(false);
  });
});
