import { runKeyOrderedBatch } from './key-ordered-batch';

interface Message {
  offset: number;
  key: string | null;
}

const batchOf = (keys: Array<string | null>): Message[] => keys.map((key, offset) => ({ offset, key }));

/** A process whose events finish when the test says, so interleavings are the test's to choose. */
function controlled() {
  const pending = new Map<number, { resolve: () => void; reject: (error: unknown) => void }>();
  const startedOrder: number[] = [];
  let running = 0;
  let mostRunning = 0;
  const process = (message: Message) =>
    new Promise<void>((resolve, reject) => {
      startedOrder.push(message.offset);
      running++;
      mostRunning = Math.max(mostRunning, running);
      pending.set(message.offset, {
        resolve: () => {
          running--;
          pending.delete(message.offset);
          resolve();
        },
        reject: (error) => {
          running--;
          pending.delete(message.offset);
          reject(error);
        },
      });
    });
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  return {
    process,
    startedOrder,
    pending,
    tick,
    mostRunning: () => mostRunning,
    async finish(offset: number) {
      pending.get(offset)!.resolve();
      await tick();
    },
  };
}

describe('a batch run with keys in parallel and order per key', () => {
  it('runs events of different keys at once, up to the concurrency, and those of one key one after the other', async () => {
    const run = controlled();
    const finished: number[] = [];
    const batch = batchOf(['a', 'b', 'a', 'c', 'b', 'd']);
    const done = runKeyOrderedBatch(batch, {
      concurrency: 3,
      keyOf: (message) => message.key,
      process: run.process,
      finishedUpTo: (message) => finished.push(message.offset),
      mayStart: () => true,
    });
    await run.tick();
    expect(run.startedOrder).toEqual([0, 1, 3]);
    await run.finish(0); // frees a slot and key a: the second a (offset 2) is next in batch order
    expect(run.startedOrder).toEqual([0, 1, 3, 2]);
    expect(finished).toEqual([0]);
    await run.finish(3); // c out of order: not committable while 1 and 2 run
    expect(finished).toEqual([0]);
    await run.finish(1);
    expect(finished).toEqual([0, 1]);
    await run.finish(2);
    expect(finished).toEqual([0, 1, 3]);
    for (const offset of [4, 5]) await run.finish(offset);
    await done;
    expect(finished).toEqual([0, 1, 3, 4, 5]);
    expect(run.mostRunning()).toBe(3);
  });

  it('runs events without a key in any order, side by side', async () => {
    const run = controlled();
    const done = runKeyOrderedBatch(batchOf([null, null, null]), {
      concurrency: 5,
      keyOf: (message) => message.key,
      process: run.process,
      finishedUpTo: () => undefined,
      mayStart: () => true,
    });
    await run.tick();
    expect(run.startedOrder).toEqual([0, 1, 2]);
    for (const offset of [2, 0, 1]) await run.finish(offset);
    await done;
  });

  it('when an event fails, starts nothing more, waits for the running ones, reports nothing at or past it, and throws its error', async () => {
    const run = controlled();
    const finished: number[] = [];
    const done = runKeyOrderedBatch(batchOf(['a', 'b', 'c', 'd']), {
      concurrency: 2,
      keyOf: (message) => message.key,
      process: run.process,
      finishedUpTo: (message) => finished.push(message.offset),
      mayStart: () => true,
    });
    const outcome = done.then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    await run.tick();
    run.pending.get(0)!.reject(new Error('membership lost'));
    await run.tick();
    expect(run.startedOrder).toEqual([0, 1]);
    await run.finish(1);
    expect(await outcome).toBe('membership lost');
    expect(finished).toEqual([]);
    expect(run.startedOrder).toEqual([0, 1]);
  });

  it('when told to start nothing more (a stop, a rebalance), finishes the running events and resolves the finished prefix only', async () => {
    const run = controlled();
    const finished: number[] = [];
    let running = true;
    const done = runKeyOrderedBatch(batchOf(['a', 'b', 'c', 'd']), {
      concurrency: 2,
      keyOf: (message) => message.key,
      process: run.process,
      finishedUpTo: (message) => finished.push(message.offset),
      mayStart: () => running,
    });
    await run.tick();
    running = false;
    await run.finish(0);
    await run.finish(1);
    await done;
    expect(run.startedOrder).toEqual([0, 1]);
    expect(finished).toEqual([0, 1]);
  });

  it('reports a run of events finished at once by its last, and goes on when one of them waits', async () => {
    const run = controlled();
    const finished: number[] = [];
    const oldest: number[] = [];
    const handled: number[] = [];
    // Events 0-2 and 4-5 finish at once; 3 waits until the test lets it go.
    const done = runKeyOrderedBatch(batchOf(['a', 'b', 'a', 'c', 'a', 'd']), {
      concurrency: 2,
      keyOf: (message) => message.key,
      process: (message) => {
        if (message.offset === 3) return run.process(message);
        handled.push(message.offset);
      },
      finishedUpTo: (message) => finished.push(message.offset),
      mayStart: () => true,
      oldestStarted: (message) => oldest.push(message.offset),
    });
    // Every event but 3 is handled in the first synchronous pass; only the prefix before 3 is reported.
    expect(handled).toEqual([0, 1, 2, 4, 5]);
    expect(finished).toEqual([2]);
    expect(oldest).toEqual([0, 3]);
    await run.finish(3);
    await done;
    expect(finished).toEqual([2, 5]);
  });

  it('tells when the oldest unfinished event has started', async () => {
    const run = controlled();
    const oldest: number[] = [];
    const done = runKeyOrderedBatch(batchOf(['a', 'a', 'b']), {
      concurrency: 2,
      keyOf: (message) => message.key,
      process: run.process,
      finishedUpTo: () => undefined,
      mayStart: () => true,
      oldestStarted: (message) => oldest.push(message.offset),
    });
    await run.tick();
    await run.finish(0);
    await run.finish(2);
    await run.finish(1);
    await done;
    expect(oldest).toEqual([0, 1]);
  });
});
