import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { attachKafkaCluster } from '../../scripts/kafka/cluster';
import { stackDown, stackParts, stackUp, type Part, type StackLayout } from '../../scripts/stack/stack';
import { testPort, uniqueName } from './kafka';

/**
 * The parts of `npm run stack:up`, moved off the contract's ports to `TEST_PORT_BASE` + `offset`
 * and up: Kafka at + 0, Jaeger at + 10..15, the producer at + 20, the consumers from + 21,
 * kafka-exporter, Alertmanager, Prometheus and the Pushgateway at + 30..33, the schema registry
 * at + 34..35. A running stack is left alone.
 */
export function movedStackLayout(offset: number, name: string, consumers = 1): StackLayout {
  const at = (delta: number) => testPort(offset + delta);
  return {
    dir: mkdtempSync(path.join(tmpdir(), `stack-${name}-`)),
    kafkaInstance: uniqueName(name),
    kafkaPort: at(0),
    jaeger: {
      otlpGrpc: at(10),
      otlpHttp: at(11),
      query: at(12),
      queryGrpc: at(13),
      health: at(14),
      metrics: at(15),
    },
    producerPort: at(20),
    consumerPort: at(21),
    consumers,
    kafkaExporterPort: at(30),
    alertmanagerPort: at(31),
    prometheusPort: at(32),
    pushgatewayPort: at(33),
    schemaRegistryPort: at(34),
    schemaRegistryManagementPort: at(35),
  };
}

export interface TestStack {
  layout: StackLayout;
  parts: Part[];
  /** Where a part answers, by name: `url('prometheus')`. */
  url(name: string): string;
  part(name: string): Part;
  /** Stops every part, removes its Kafka and its folder. */
  destroy(): Promise<void>;
}

export async function startTestStack(layout: StackLayout): Promise<TestStack> {
  const parts = stackParts(layout);
  const part = (name: string): Part => {
    const found = parts.find((each) => each.name === name);
    if (!found) throw new Error(`the stack has no part "${name}"`);
    return found;
  };
  const stack: TestStack = {
    layout,
    parts,
    url: (name) => part(name).url,
    part,
    async destroy() {
      await stackDown(parts);
      await (await attachKafkaCluster(layout.kafkaInstance))?.destroy();
      rmSync(layout.dir, { recursive: true, force: true });
    },
  };
  try {
    await stackUp(parts);
  } catch (error) {
    await stack.destroy();
    throw error;
  }
  return stack;
}
