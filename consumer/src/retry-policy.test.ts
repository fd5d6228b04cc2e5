import { NonRetriableError } from './handler';
import { createRetryPolicy, HandlerTimeoutError, StoppingError, type RetryNotice } from './retry-policy';

const policy = ({ maxAttempts = 3, delayMs = 1, attemptTimeoutMs = 1000 } = {}) =>
  createRetryPolicy({ maxAttempts, initialDelayMs: delayMs, maxDelayMs: delayMs, attemptTimeoutMs });

const noStop = () => new AbortController().signal;

describe('the retry policy', () => {
  it('when an attempt fails with an error that is not retriable, then it makes no other attempt', async () => {
    const attempts: number[] = [];
    const notices: RetryNotice[] = [];
    const bad = new NonRetriableError('bad data');
    await expect(
      policy().execute(
        async ({ attempt }) => {
          attempts.push(attempt);
          throw bad;
        },
        { signal: noStop(), onRetry: (notice) => notices.push(notice) },
      ),
    ).rejects.toBe(bad);
    expect(attempts).toEqual([1]);
    expect(notices).toEqual([]);
  });

  it('makes maxAttempts attempts in all, the first included, then throws what the last one threw', async () => {
    const notices: RetryNotice[] = [];
    let attempts = 0;
    await expect(
      policy({ maxAttempts: 4, delayMs: 5 }).execute(
        async ({ attempt }) => {
          attempts = attempt;
          throw new Error(`down ${attempt}`);
        },
        { signal: noStop(), onRetry: (notice) => notices.push(notice) },
      ),
    ).rejects.toThrow('down 4');
    expect(attempts).toBe(4);
    expect(notices.map(({ attempt, error }) => [attempt, (error as Error).message])).toEqual([
      [1, 'down 1'],
      [2, 'down 2'],
      [3, 'down 3'],
    ]);
    for (const { delayMs } of notices) expect(delayMs).toBeLessThanOrEqual(5);
  });

  it('with maxAttempts 1, then it makes one attempt and no retry', async () => {
    const attempt = jest.fn(async () => {
      throw new Error('down');
    });
    await expect(policy({ maxAttempts: 1 }).execute(attempt, { signal: noStop() })).rejects.toThrow('down');
    expect(attempt).toHaveBeenCalledTimes(1);
  });

  it('resolves with the value of the first attempt that succeeds', async () => {
    const value = await policy().execute(
      async ({ attempt }) => {
        if (attempt < 2) throw new Error('down');
        return `done on ${attempt}`;
      },
      { signal: noStop() },
    );
    expect(value).toBe('done on 2');
  });

  it('when an attempt outlives its time, then it fails with HandlerTimeoutError, its signal aborts, and it is retried', async () => {
    const signals: AbortSignal[] = [];
    const outcome = policy({ maxAttempts: 2, attemptTimeoutMs: 30 }).execute(
      ({ signal, withinTime }) => {
        signals.push(signal);
        return withinTime(new Promise<void>(() => undefined)); // never settles, ignores its signal
      },
      { signal: noStop() },
    );
    await expect(outcome).rejects.toThrow(HandlerTimeoutError);
    await expect(outcome).rejects.toMatchObject({
      name: 'HandlerTimeoutError',
      message: 'the handler took longer than 30 ms',
    });
    expect(signals).toHaveLength(2);
    for (const signal of signals) {
      expect(signal.aborted).toBe(true);
      expect(signal.reason).toBeInstanceOf(HandlerTimeoutError);
    }
  });

  it('when an attempt heeds its signal at the timeout, then the timeout is what is reported', async () => {
    const attempts: number[] = [];
    const outcome = policy({ maxAttempts: 2, attemptTimeoutMs: 20 }).execute(
      ({ attempt, signal, withinTime }) => {
        attempts.push(attempt);
        return withinTime(
          new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
        );
      },
      { signal: noStop() },
    );
    await expect(outcome).rejects.toThrow('the handler took longer than 20 ms');
    expect(attempts).toEqual([1, 2]);
  });

  it('leaves the signal of an attempt that finished in time alone', async () => {
    jest.useFakeTimers();
    let signal: AbortSignal | undefined;
    await policy({ attemptTimeoutMs: 20 }).execute(
      async (context) => {
        signal = context.signal;
      },
      { signal: noStop() },
    );
    await jest.advanceTimersByTimeAsync(40);
    expect(signal?.aborted).toBe(false);
    jest.useRealTimers();
  });
});

describe('the retry policy when the worker stops', () => {
  afterEach(() => jest.useRealTimers());

  it('when stopped before the first attempt, then it makes none and throws StoppingError', async () => {
    const stop = new AbortController();
    stop.abort();
    const attempt = jest.fn(async () => undefined);
    await expect(policy().execute(attempt, { signal: stop.signal })).rejects.toThrow(StoppingError);
    expect(attempt).not.toHaveBeenCalled();
  });

  it('when stopped during the wait for the next attempt, then the wait ends at once and no attempt follows', async () => {
    jest.useFakeTimers();
    const stop = new AbortController();
    const attempt = jest.fn(async () => {
      throw new Error('down');
    });
    // The wait starts as the retry is announced; with the clock still, only the stop can end it.
    const outcome = policy({ maxAttempts: 5, delayMs: 60_000 }).execute(attempt, {
      signal: stop.signal,
      onRetry: () => stop.abort(),
    });
    await expect(outcome).rejects.toThrow(StoppingError);
    // The backoff timer left behind fires, and starts nothing.
    await jest.advanceTimersByTimeAsync(120_000);
    expect(attempt).toHaveBeenCalledTimes(1);
  });

  it('when stopped during an attempt, then the attempt is waited for, and a failed one is not retried', async () => {
    const stop = new AbortController();
    const seen: boolean[] = [];
    const attempt = jest.fn(async ({ signal }: { signal: AbortSignal }) => {
      stop.abort();
      await new Promise((resolve) => setTimeout(resolve, 10));
      seen.push(signal.aborted);
      throw new Error('down');
    });
    await expect(policy({ maxAttempts: 5 }).execute(attempt, { signal: stop.signal })).rejects.toThrow('down');
    expect(attempt).toHaveBeenCalledTimes(1);
    // The handler hears of the stop through its signal.
    expect(seen).toEqual([true]);
  });

  it('when stopped during an attempt that then succeeds, then it resolves with its value', async () => {
    const stop = new AbortController();
    const value = await policy().execute(
      async () => {
        stop.abort();
        await new Promise((resolve) => setTimeout(resolve, 10));
        return 'done';
      },
      { signal: stop.signal },
    );
    expect(value).toBe('done');
  });
});
