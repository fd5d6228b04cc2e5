import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { logTail } from '../../../scripts/stack/daemon';
import {
  kafkaExporterPart,
  prometheusPart,
  stackDown,
  stackUp,
  writeScrapeTargets,
  type ScrapeTargets,
} from '../../../scripts/stack/stack';
import { ensureGoTool } from '../../../scripts/tools/go-tools';
import { RELIABILITY_CACHE } from './cluster';

/** Builds kafka-exporter and Prometheus if they are missing, before a scenario leases the cluster. */
export async function ensureMonitoringTools(): Promise<void> {
  await Promise.all([ensureGoTool('kafka-exporter'), ensureGoTool('prometheus')]);
}

export interface Monitoring {
  /** Prometheus' base URL. */
  readonly prometheus: string;
  /** Points the scrape job `job` at these local ports (its target file, which Prometheus watches). */
  setTargets(job: keyof ScrapeTargets, ports: number[]): Promise<void>;
  /** The end of what kafka-exporter and Prometheus logged, for a failure message. */
  output(): string;
  /** Stops both and removes their directory. */
  stop(): Promise<void>;
}

/**
 * The local stack's kafka-exporter and Prometheus parts (scripts/stack/stack.ts), on the given
 * brokers and ports: the repo's own config, relabelling and rules. Only kafka-exporter and
 * Prometheus are scrape targets at first; the scenario adds its consumers with `setTargets`.
 */
export async function startMonitoring({
  brokers,
  exporterPort,
  prometheusPort,
}: {
  brokers: string[];
  exporterPort: number;
  prometheusPort: number;
}): Promise<Monitoring> {
  await mkdir(RELIABILITY_CACHE, { recursive: true });
  const dir = await mkdtemp(path.join(RELIABILITY_CACHE, 'monitoring-'));
  const parts = [
    kafkaExporterPart(dir, brokers.join(','), exporterPort),
    prometheusPart(dir, prometheusPort, () => ({ 'kafka-exporter': [exporterPort], prometheus: [prometheusPort] })),
  ];
  const stop = async (): Promise<void> => {
    await stackDown(parts);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await stackUp(parts);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    prometheus: parts[1]!.url,
    setTargets: (job, ports) => writeScrapeTargets(dir, { [job]: ports }),
    output: () => parts.map((part) => logTail({ logFile: path.join(dir, `${part.name}.log`) }, 60)).join('\n'),
    stop,
  };
}
