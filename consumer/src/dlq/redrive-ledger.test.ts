import { RedriveLedger } from './redrive-ledger';
import { decodePendingSend } from './redrive-record';

interface Commit {
  partition: number;
  offset: bigint;
  metadata: string | null;
}

/** A ledger over the planned `partition:offset`s, each partition starting at `starts` (0 otherwise), and what it commits. */
function ledgerOf(
  planned: string[],
  starts: Record<number, bigint> = {},
): { ledger: RedriveLedger; commits: Commit[] } {
  const commits: Commit[] = [];
  const ledger = new RedriveLedger(
    planned.map((position) => {
      const [partition, offset] = position.split(':');
      return { partition: Number(partition), offset: BigInt(offset!) };
    }),
    (partition) => starts[partition] ?? 0n,
    (partition, offset, metadata) => {
      commits.push({ partition, offset, metadata });
      return Promise.resolve();
    },
  );
  return { ledger, commits };
}

const batch = (from: number, to: number): { offset: string }[] =>
  Array.from({ length: to - from }, (_, index) => ({ offset: String(from + index) }));

/** Runs a batch as a redrive does, every chunk acknowledged; the chunks' offsets and ends, and whether all is done. */
async function runBatch(
  ledger: RedriveLedger,
  partition: number,
  messages: { offset: string }[],
  size: number,
): Promise<{ chunks: { offsets: string[]; upTo: bigint; last: boolean }[]; allDone: boolean }> {
  const chunks = [];
  for (const chunk of ledger.chunks(partition, messages, size)) {
    chunks.push({ offsets: chunk.messages.map((message) => message.offset), upTo: chunk.upTo, last: chunk.last });
    await ledger.acknowledged(partition, chunk.upTo);
  }
  return { chunks, allDone: ledger.batchDone(partition) };
}

describe('RedriveLedger', () => {
  it('takes the chosen dead letters of a batch in chunks, up to the cutoff, and commits after each', async () => {
    const { ledger, commits } = ledgerOf(['0:2', '0:3', '0:5']);
    const { chunks, allDone } = await runBatch(ledger, 0, batch(0, 9), 2);
    expect(chunks).toEqual([
      { offsets: ['2', '3'], upTo: 4n, last: false },
      { offsets: ['5'], upTo: 6n, last: true },
    ]);
    expect(commits).toEqual([
      { partition: 0, offset: 4n, metadata: null },
      { partition: 0, offset: 6n, metadata: null },
    ]);
    expect(ledger.committedAt(0)).toBe(6n);
    expect(allDone).toBe(true);
    expect(ledger.isOpen(0)).toBe(false);
  });

  it('skips what is below the committed offset a run starts from', async () => {
    const { ledger, commits } = ledgerOf(['0:4', '0:6'], { 0: 4n });
    const { chunks } = await runBatch(ledger, 0, batch(0, 8), 100);
    expect(chunks).toEqual([{ offsets: ['4', '6'], upTo: 7n, last: true }]);
    expect(commits).toEqual([{ partition: 0, offset: 7n, metadata: null }]);
  });

  it('ends a full last chunk with an empty rest, which commits nothing more', async () => {
    const { ledger, commits } = ledgerOf(['0:0', '0:1']);
    const { chunks, allDone } = await runBatch(ledger, 0, batch(0, 2), 2);
    expect(chunks).toEqual([
      { offsets: ['0', '1'], upTo: 2n, last: false },
      { offsets: [], upTo: 2n, last: true },
    ]);
    expect(commits).toHaveLength(1);
    expect(allDone).toBe(true);
  });

  it('commits past dead letters not chosen, and keeps a partition open until its cutoff is committed', async () => {
    const { ledger, commits } = ledgerOf(['0:5']);
    const first = await runBatch(ledger, 0, batch(0, 4), 100);
    expect(first).toEqual({ chunks: [{ offsets: [], upTo: 4n, last: true }], allDone: false });
    expect(ledger.isOpen(0)).toBe(true);
    const second = await runBatch(ledger, 0, batch(4, 8), 100);
    expect(second).toEqual({ chunks: [{ offsets: ['5'], upTo: 6n, last: true }], allDone: true });
    expect(commits.map(({ offset }) => offset)).toEqual([4n, 6n]);
  });

  it('is done only once every partition with a chosen dead letter is; others are never open', async () => {
    const { ledger } = ledgerOf(['0:1', '2:0']);
    expect(ledger.isOpen(1)).toBe(false);
    expect((await runBatch(ledger, 2, batch(0, 3), 100)).allDone).toBe(false);
    expect((await runBatch(ledger, 0, batch(0, 3), 100)).allDone).toBe(true);
  });

  it('notes a pending send at the committed offset as it is, and the acknowledgement drops the note', async () => {
    const { ledger, commits } = ledgerOf(['1:7'], { 1: 3n });
    await ledger.notePending(1, 8n, { events: { '2': '40' } });
    expect(commits).toHaveLength(1);
    expect(commits[0]).toMatchObject({ partition: 1, offset: 3n });
    expect(decodePendingSend(commits[0]!.metadata)).toEqual({ end: 8n, targets: { events: { '2': '40' } } });
    expect(ledger.committedAt(1)).toBe(3n);
    await ledger.acknowledged(1, 8n);
    expect(commits[1]).toEqual({ partition: 1, offset: 8n, metadata: null });
    expect(ledger.committedAt(1)).toBe(8n);
  });

  it('does not move the committed offset back or commit it again', async () => {
    const { ledger, commits } = ledgerOf(['0:9'], { 0: 5n });
    await ledger.acknowledged(0, 5n);
    await ledger.acknowledged(0, 3n);
    expect(commits).toEqual([]);
    expect(ledger.committedAt(0)).toBe(5n);
  });

  it('keeps the committed offset when its commit fails', async () => {
    const ledger = new RedriveLedger(
      [{ partition: 0, offset: 1n }],
      () => 0n,
      () => Promise.reject(new Error('coordinator not available')),
    );
    await expect(ledger.acknowledged(0, 2n)).rejects.toThrow('coordinator not available');
    expect(ledger.committedAt(0)).toBe(0n);
  });
});
