import { writeRow, type ScenarioResult } from './results';

/**
 * The accounting of one scenario, as Jepsen-style checks do it: every event id that got a 2xx,
 * and every time the consumer processed an id. Lost = accepted and never processed;
 * duplicated = processed more than once.
 */
export class Ledger {
  private readonly acceptedIds = new Set<string>();
  private readonly processedCounts = new Map<string, number>();

  accept(ids: Iterable<string>): void {
    for (const id of ids) this.acceptedIds.add(id);
  }

  process(id: string): void {
    this.processedCounts.set(id, (this.processedCounts.get(id) ?? 0) + 1);
  }

  /** Forgets what was processed, for a ledger rebuilt from a process's own record. */
  resetProcessed(): void {
    this.processedCounts.clear();
  }

  get accepted(): number {
    return this.acceptedIds.size;
  }

  /** Accepted events not processed yet. */
  missing(): string[] {
    return [...this.acceptedIds].filter((id) => !this.processedCounts.has(id));
  }

  allProcessed(): boolean {
    for (const id of this.acceptedIds) if (!this.processedCounts.has(id)) return false;
    return true;
  }

  /** Processed ids that no 2xx accounted for: a producer that answered an error for an event it wrote. */
  unacknowledgedProcessed(): number {
    let count = 0;
    for (const id of this.processedCounts.keys()) if (!this.acceptedIds.has(id)) count += 1;
    return count;
  }

  counts(): Pick<ScenarioResult, 'accepted' | 'consumed' | 'lost' | 'duplicated'> {
    const lost = this.missing().length;
    let duplicated = 0;
    for (const [id, times] of this.processedCounts) if (times > 1 && this.acceptedIds.has(id)) duplicated += 1;
    return { accepted: this.accepted, consumed: this.accepted - lost, lost, duplicated };
  }
}

/**
 * Runs one scenario with a fresh ledger and records its row, passed or not: a scenario passes
 * when its own assertions hold and no accepted event was lost.
 */
export async function runScenario(
  name: string,
  body: (ledger: Ledger, note: (detail: string) => void) => Promise<void>,
): Promise<void> {
  const ledger = new Ledger();
  const notes: string[] = [];
  let failure: unknown;
  try {
    await body(ledger, (detail) => notes.push(detail));
  } catch (error) {
    failure = error;
  }
  const counts = ledger.counts();
  const result: ScenarioResult = { name, passed: failure === undefined && counts.lost === 0, ...counts };
  if (failure !== undefined) notes.push(`failed: ${(failure as Error).message?.split('\n')[0] ?? String(failure)}`);
  if (notes.length > 0) result.details = notes.join('; ');
  await writeRow(result);
  console.info(`${name}: ${JSON.stringify(result)}`);
  if (failure !== undefined) throw failure;
  expect(counts.lost).toBe(0);
}
