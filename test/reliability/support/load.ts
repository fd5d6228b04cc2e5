import { setTimeout as sleep } from 'node:timers/promises';
import type { Ledger } from './ledger';

/** One request of the load and how it ended: an HTTP status, a network error, or no answer in time. */
export interface Answer {
  status: number | 'error' | 'timeout';
  startedAt: number;
  endedAt: number;
  events: number;
}

export interface LoadOptions {
  url: string;
  ledger: Ledger;
  /** Makes the ids unique to the scenario. */
  prefix: string;
  clients?: number;
  /** Requests per second over all clients (a fixed rate, so the load stays steady under faults). */
  ratePerSecond?: number;
  /** Every n-th request of a client is a batch of `batchSize` events. */
  batchEvery?: number;
  batchSize?: number;
  /** Past this a request counts as hung ('timeout'). */
  timeoutMs?: number;
  headers?: Record<string, string>;
  /** The event for an id; by default a plain event keyed by one of 12 subjects. */
  event?: (id: string, index: number) => Record<string, unknown>;
}

export interface Load {
  readonly answers: Answer[];
  /** Requests answered so far with each status. */
  statuses(): Record<string, number>;
  /** Waits until `count` more events than now have been accepted. */
  acceptMore(count: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** A steady stream of uniquely identified events; every id that gets a 202 goes into the ledger. */
export function startLoad(options: LoadOptions): Load {
  const {
    url,
    ledger,
    prefix,
    clients = 4,
    ratePerSecond = 200,
    batchEvery = 5,
    batchSize = 5,
    timeoutMs = 30_000,
    headers = {},
    event = (id, index) => ({ id, type: 'reliability.load', subject: `k${index % 12}`, data: { index } }),
  } = options;
  const answers: Answer[] = [];
  const intervalMs = (1000 * clients) / ratePerSecond;
  let running = true;

  const client = async (client: number): Promise<void> => {
    let next = performance.now();
    for (let request = 0; running; request += 1) {
      const count = batchEvery > 0 && request % batchEvery === batchEvery - 1 ? batchSize : 1;
      const events = Array.from({ length: count }, (_, k) => {
        const index = request * batchSize + k;
        return event(`${prefix}-c${client}-${index}`, index);
      });
      const startedAt = performance.now();
      let status: Answer['status'];
      try {
        const response = await fetch(`${url}/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify(count === 1 ? events[0] : events),
          signal: AbortSignal.timeout(timeoutMs),
        });
        status = response.status;
        if (response.status >= 200 && response.status < 300) {
          ledger.accept(((await response.json()) as { ids: string[] }).ids);
        } else {
          await response.arrayBuffer();
        }
      } catch (error) {
        status = (error as Error).name === 'TimeoutError' ? 'timeout' : 'error';
      }
      answers.push({ status, startedAt, endedAt: performance.now(), events: count });
      next += intervalMs;
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
      else next = performance.now();
      // A refused connection answers at once: don't spin on a producer that is gone.
      if (status === 'error') await sleep(50);
    }
  };
  const clientsDone = Array.from({ length: clients }, (_, index) => client(index));

  return {
    answers,
    statuses() {
      const counts: Record<string, number> = {};
      for (const answer of answers) counts[String(answer.status)] = (counts[String(answer.status)] ?? 0) + 1;
      return counts;
    },
    async acceptMore(count, waitMs = 60_000) {
      const target = ledger.accepted + count;
      const deadline = Date.now() + waitMs;
      while (ledger.accepted < target) {
        if (Date.now() > deadline) {
          throw new Error(
            `timed out after ${waitMs} ms waiting for ${count} more accepted events ` +
              `(${ledger.accepted} of ${target}; statuses ${JSON.stringify(this.statuses())})`,
          );
        }
        await sleep(50);
      }
    },
    async stop() {
      running = false;
      await Promise.all(clientsDone);
    },
  };
}

/** The longest time any request took, in ms. */
export function slowest(answers: Answer[]): number {
  return answers.reduce((most, answer) => Math.max(most, answer.endedAt - answer.startedAt), 0);
}
