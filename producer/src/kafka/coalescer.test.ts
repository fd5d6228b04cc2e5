import { SendCoalescer } from './coalescer';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function recordingCoalescer(options: { maxItems?: number; maxBytes?: number } = {}) {
  const sends: Array<{ batch: string[]; ack: ReturnType<typeof deferred> }> = [];
  const coalescer = new SendCoalescer<string>({
    send: (batch) => {
      const ack = deferred();
      sends.push({ batch, ack });
      return ack.promise;
    },
    maxItems: options.maxItems ?? 100,
    maxBytes: options.maxBytes ?? 1000,
    lingerMs: 0,
  });
  // Strings weigh their length in bytes.
  const submit = (items: string[]) =>
    coalescer.submit(
      items,
      items.map((item) => item.length),
    );
  return { coalescer, sends, submit };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('SendCoalescer', () => {
  it('sends the items of requests made in the same turn as one batch', async () => {
    const { sends, submit } = recordingCoalescer();
    const first = submit(['a', 'b']);
    const second = submit(['c']);
    await tick();
    expect(sends.map((send) => send.batch)).toEqual([['a', 'b', 'c']]);
    sends[0]!.ack.resolve();
    await expect(first.done).resolves.toBeUndefined();
    await expect(second.done).resolves.toBeUndefined();
  });

  it('keeps one batch in flight and gathers what arrives meanwhile into the next, in order', async () => {
    const { coalescer, sends, submit } = recordingCoalescer();
    submit(['a']);
    await tick();
    const later = [submit(['b']), submit(['c', 'd'])];
    await tick();
    expect(sends).toHaveLength(1);
    expect(coalescer.pending).toBe(4);
    sends[0]!.ack.resolve();
    await tick();
    await tick();
    expect(sends.map((send) => send.batch)).toEqual([['a'], ['b', 'c', 'd']]);
    sends[1]!.ack.resolve();
    await Promise.all(later.map((ticket) => ticket.done));
    expect(coalescer.pending).toBe(0);
  });

  it('cuts batches at the item and byte limits, never splitting below one item', async () => {
    const { sends, submit } = recordingCoalescer({ maxItems: 2, maxBytes: 5 });
    const ticket = submit(['aaa', 'bb', 'c', 'dddddddd']);
    for (let index = 0; index < 4; index += 1) {
      await tick();
      sends.at(-1)?.ack.resolve();
      await tick();
    }
    expect(sends.map((send) => send.batch)).toEqual([['aaa', 'bb'], ['c'], ['dddddddd']]);
    await expect(ticket.done).resolves.toBeUndefined();
  });

  it('resolves a request only when every one of its items was acknowledged', async () => {
    const { sends, submit } = recordingCoalescer({ maxItems: 1 });
    let settled = false;
    const ticket = submit(['a', 'b']);
    void ticket.done.then(() => (settled = true));
    await tick();
    sends[0]!.ack.resolve();
    await tick();
    await tick();
    expect(settled).toBe(false);
    sends[1]!.ack.resolve();
    await ticket.done;
    expect(settled).toBe(true);
  });

  it('rejects the requests of a failed batch and leaves the others alone', async () => {
    const { sends, submit } = recordingCoalescer();
    const failed = submit(['a']);
    await tick();
    const next = submit(['b']);
    sends[0]!.ack.reject(new Error('broker said no'));
    await expect(failed.done).rejects.toThrow('broker said no');
    await tick();
    sends[1]!.ack.resolve();
    await expect(next.done).resolves.toBeUndefined();
  });

  it('counts the bytes and the age of what waits for an acknowledgement', async () => {
    const { coalescer, sends, submit } = recordingCoalescer();
    submit(['aaaa', 'bb']);
    expect(coalescer.pendingBytes).toBe(6);
    expect(coalescer.inFlightAgeMs()).toBe(0);
    await tick();
    expect(coalescer.pendingBytes).toBe(6);
    expect(coalescer.inFlightAgeMs(performance.now() + 50)).toBeGreaterThanOrEqual(50);
    sends[0]!.ack.resolve();
    await coalescer.idle();
    expect(coalescer.pendingBytes).toBe(0);
    expect(coalescer.inFlightAgeMs()).toBe(0);
  });

  it('does not send the queued items of an abandoned request', async () => {
    const { coalescer, sends, submit } = recordingCoalescer();
    submit(['a']);
    await tick();
    const abandoned = submit(['x', 'y']);
    const kept = submit(['b']);
    abandoned.abandon();
    sends[0]!.ack.resolve();
    await tick();
    await tick();
    expect(sends.map((send) => send.batch)).toEqual([['a'], ['b']]);
    sends[1]!.ack.resolve();
    await kept.done;
    await expect(coalescer.idle()).resolves.toBeUndefined();
  });
});
