import { exposeMetrics, shutdownOnce, type Logger, type MetricsExposition } from '@event-pipeline/common';
import { budgetShare, type ProducerConfig } from '../config';
import type { Readiness } from '../kafka/event-publisher';
import { startProducerService, type ProducerService } from '../service';
import { isPrimaryMessage, type PrimaryMessage, type WorkerMessage } from './messages';
import { mergeProcessMetrics, registryOf, type ProcessSnapshot } from './process-metrics';

/** How often a worker looks whether its own readiness changed, to tell the primary. */
const READINESS_REPORT_MS = 200;

export interface WorkerOptions {
  config: ProducerConfig;
  /** How many workers share the budgets (the primary resolved it). */
  workers: number;
  logger: Logger;
  /** A scrape fails past this, rather than hang; above the primary's collection timeout. */
  scrapeTimeoutMs?: number;
}

function tell(message: WorkerMessage): void {
  process.send?.(message);
}

/**
 * One worker of a producer of several processes: the whole producer (createApp, a Kafka
 * publisher of its own) with 1/`workers` of the budgets, whose readiness and /metrics speak
 * for every process (see primary.ts), drained when the primary says so or on a signal.
 */
export async function runWorker({ config, workers, logger, scrapeTimeoutMs = 5000 }: WorkerOptions): Promise<void> {
  let othersReadiness: Readiness = { ready: false, reason: 'waiting for the other workers' };
  const scrapes = new Map<number, (snapshots: ProcessSnapshot[]) => void>();
  let nextScrape = 0;

  const wholeProducerMetrics = async (request: Parameters<typeof exposeMetrics>[1]): Promise<MetricsExposition> => {
    const id = nextScrape++;
    const snapshots = await new Promise<ProcessSnapshot[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        scrapes.delete(id);
        reject(new Error('the primary did not answer with the metrics in time'));
      }, scrapeTimeoutMs);
      scrapes.set(id, (answer) => {
        clearTimeout(timer);
        scrapes.delete(id);
        resolve(answer);
      });
      tell({ type: 'producer:scrape', id });
    });
    return exposeMetrics(registryOf(mergeProcessMetrics(snapshots)), request);
  };

  // Set once started; a drain asked for while it starts finds none and ends the process.
  const running: { service?: ProducerService } = {};
  let draining = false;
  const drain = shutdownOnce({
    logger,
    // Inside the primary's bound, so that the primary sees it exit rather than kill it.
    timeoutMs: Math.max(1000, config.SHUTDOWN_TIMEOUT_MS - 500),
    shutdown: async () => {
      draining = true;
      await running.service?.stop();
    },
  });
  const onMessage = (message: PrimaryMessage): void => {
    switch (message.type) {
      case 'producer:all-ready':
        othersReadiness = message.readiness;
        return;
      case 'producer:collect':
        // Still starting: nothing counted yet, and the scrape need not wait for it.
        if (!running.service) {
          tell({ type: 'producer:snapshot', id: message.id, snapshot: [] });
          return;
        }
        void running.service.registry
          .getMetricsAsJSON()
          .then((snapshot) =>
            tell({ type: 'producer:snapshot', id: message.id, snapshot: snapshot as unknown as ProcessSnapshot }),
          );
        return;
      case 'producer:snapshots':
        scrapes.get(message.id)?.(message.snapshots);
        return;
      case 'producer:drain':
        drain('SIGTERM');
        return;
    }
  };
  process.on('message', (message: unknown) => {
    if (isPrimaryMessage(message)) onMessage(message);
  });
  // A terminal's Ctrl-C reaches every process of the group; the primary's drain message follows,
  // and neither a signal nor the message a second time cuts the drain short.
  process.on('SIGTERM', () => drain('SIGTERM'));
  process.on('SIGINT', () => drain('SIGINT'));

  const started = (running.service = await startProducerService(budgetShare(config, workers), {
    logger,
    othersReadiness: () => othersReadiness,
    exposeMetrics: wholeProducerMetrics,
  }));

  let reported: Readiness | undefined;
  const report = setInterval(() => {
    const readiness: Readiness = draining ? { ready: false, reason: 'shutting down' } : started.publisher.readiness();
    if (reported?.ready === readiness.ready && reported.reason === readiness.reason) return;
    reported = readiness;
    tell({ type: 'producer:readiness', readiness });
  }, READINESS_REPORT_MS);
  report.unref();

  // A start-up that Kafka refused for good stops the whole producer, as with a single process.
  started.started.catch(() => {
    tell({ type: 'producer:start-failed' });
  });
}
