import { ConsumerLag, type BatchStart } from './consumer-lag';

const T0 = 1_800_000_000_000;

function clock(start = T0) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => void (now += ms),
  };
}

const batch = (partition: number, firstOffset: number, lastOffset: number, highWatermark: number): BatchStart => ({
  topic: 'events',
  partition,
  highWatermark: String(highWatermark),
  firstOffset: String(firstOffset),
  lastOffset: String(lastOffset),
  batchSize: lastOffset - firstOffset + 1,
});

/** Takes and finishes the events at `offsets`, accepted at T0 + offset seconds. */
function finish(lag: ConsumerLag, partition: number, ...offsets: number[]): void {
  for (const offset of offsets) {
    const timestamp = String(T0 + offset * 1000);
    lag.messageStarted('events', partition, String(offset), timestamp);
    lag.messageFinished('events', partition, String(offset), timestamp);
  }
}

const only = (lag: ConsumerLag, partition = 0) => lag.snapshot().find((each) => each.partition === partition);

describe("the consumer's own lag", () => {
  it('knows nothing of an assigned partition before its first batch', () => {
    const lag = new ConsumerLag(clock().now);
    lag.assign({ events: [0, 1] });
    expect(lag.assignedPartitions).toBe(2);
    expect(lag.snapshot()).toEqual([]);
  });

  it('grows the time lag while an event is in hand, from its acceptance time', () => {
    const time = clock(T0 + 2000);
    const lag = new ConsumerLag(time.now);
    lag.assign({ events: [0] });
    lag.batchStarted(batch(0, 0, 4, 5));
    lag.messageStarted('events', 0, '0', String(T0));

    expect(only(lag)).toEqual({ topic: 'events', partition: 0, position: 0, lagMessages: 5, lagSeconds: 2 });
    time.advance(3000);
    expect(only(lag)?.lagSeconds).toBe(5);
  });

  it('between events, dates the lag by the last finished one', () => {
    const time = clock(T0 + 10_000);
    const lag = new ConsumerLag(time.now);
    lag.assign({ events: [0] });
    lag.batchStarted(batch(0, 0, 4, 5));
    finish(lag, 0, 0, 1);

    expect(only(lag)).toMatchObject({ position: 2, lagMessages: 3, lagSeconds: 9 });
  });

  it('is 0 once the position reaches the high watermark of the last batch', () => {
    const time = clock(T0 + 60_000);
    const lag = new ConsumerLag(time.now);
    lag.assign({ events: [0] });
    lag.batchStarted(batch(0, 3, 4, 5));
    finish(lag, 0, 3, 4);

    expect(only(lag)).toEqual({ topic: 'events', partition: 0, position: 5, lagMessages: 0, lagSeconds: 0 });
    time.advance(60_000);
    expect(only(lag)?.lagSeconds).toBe(0);
  });

  it('keeps dating the lag by a failed event, which comes again', () => {
    const time = clock(T0 + 1000);
    const lag = new ConsumerLag(time.now);
    lag.assign({ events: [0] });
    lag.batchStarted(batch(0, 0, 1, 2));
    finish(lag, 0, 0);
    lag.messageStarted('events', 0, '1', String(T0 + 500));
    // The handler failed: KafkaJS fetches the partition again from the same offset.
    time.advance(4000);
    lag.batchStarted(batch(0, 1, 1, 2));

    expect(only(lag)).toMatchObject({ position: 1, lagMessages: 1, lagSeconds: 4.5 });
  });

  it('passes over a batch of only control records or aborted messages', () => {
    const lag = new ConsumerLag(clock().now);
    lag.assign({ events: [0] });
    lag.batchStarted({
      topic: 'events',
      partition: 0,
      highWatermark: '8',
      firstOffset: '6',
      lastOffset: '7',
      batchSize: 0,
    });

    expect(only(lag)).toMatchObject({ position: 8, lagMessages: 0, lagSeconds: 0 });
  });

  it('never reports a negative lag when the producer clock is ahead', () => {
    const lag = new ConsumerLag(clock(T0).now);
    lag.assign({ events: [0] });
    lag.batchStarted(batch(0, 0, 0, 1));
    lag.messageStarted('events', 0, '0', String(T0 + 1500));

    expect(only(lag)?.lagSeconds).toBe(0);
  });

  it('drops the partitions a rebalance takes away, starts the others afresh, and ignores late news of the ones gone', () => {
    const lag = new ConsumerLag(clock(T0 + 5000).now);
    lag.assign({ events: [0, 1] });
    lag.batchStarted(batch(0, 0, 1, 2));
    lag.batchStarted(batch(1, 0, 1, 2));
    lag.messageStarted('events', 1, '0', String(T0));

    lag.assign({ events: [0, 2] });
    lag.messageFinished('events', 1, '0', String(T0));

    expect(lag.assignedPartitions).toBe(2);
    // Known again from each partition's next batch.
    expect(lag.snapshot()).toEqual([]);
    lag.batchStarted(batch(0, 2, 2, 3));
    expect(lag.snapshot().map((each) => each.partition)).toEqual([0]);
    lag.clear();
    expect(lag.assignedPartitions).toBe(0);
    expect(lag.snapshot()).toEqual([]);
  });

  it('keeps no stale lag for a partition it gets back after another member moved it on', () => {
    const time = clock(T0 + 5000);
    const lag = new ConsumerLag(time.now);
    lag.assign({ events: [0] });
    lag.batchStarted(batch(0, 0, 9, 10));
    finish(lag, 0, 0, 1, 2, 3, 4);
    // Offset 5 is in hand when this member drops out of the group; it never finishes here.
    lag.messageStarted('events', 0, '5', String(T0 + 5000));

    // Back in the group with the same partition, which another member finished meanwhile:
    // KafkaJS starts no batch, since nothing is new.
    lag.assign({ events: [0] });
    time.advance(3_600_000);

    expect(lag.assignedPartitions).toBe(1);
    expect(lag.snapshot()).toEqual([]);
  });
});
