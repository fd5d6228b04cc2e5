import { KAFKA_VERSION } from '../../scripts/kafka/cluster';
import { ALERTMANAGER_FLAGS, defaultLayout, PROMETHEUS_FLAGS, stackParts } from '../../scripts/stack/stack';
import { GO_TOOLS, prometheusRelease } from '../../scripts/tools/go-tools';
import { bindSources, publishedPorts, readCompose } from '../support/compose';

// `docker compose up` and `npm run stack:up` are one stack: the same parts, on the same ports,
// with the same config files, at the same versions. This fails when the two drift apart.
describe('compose and the local stack', () => {
  const { services } = readCompose();
  const parts = stackParts(defaultLayout({}));
  // Grafana is compose's alone: the stack runs no Grafana. Compose pushes the schemas with a
  // one-shot service; the stack's schema-registry part pushes them once it is ready.
  const COMPOSE_ONLY = ['grafana', 'schemas-push'];

  it('run the same parts', () => {
    const composed = Object.keys(services).filter((name) => !COMPOSE_ONLY.includes(name));
    expect(composed.sort()).toEqual(parts.map((part) => part.name).sort());
  });

  describe.each(parts.map((part) => [part.name, part] as const))('%s', (name, part) => {
    const service = services[name]!;

    it('publishes only ports the stack listens on, each the same inside and out', () => {
      for (const port of publishedPorts(service)) {
        expect(port.target).toBe(port.published);
        expect(part.ports).toContain(port.published);
      }
    });

    it('publishes the port it answers on, unless it is the scalable consumer', () => {
      const published = publishedPorts(service).map((port) => port.published);
      if (name === 'consumer') expect(service.expose).toEqual([String(part.ports[0])]);
      else expect(published).toContain(part.ports[0]);
    });

    it('mounts the config files the stack runs it with', () => {
      expect(bindSources(service).sort()).toEqual([...part.configFiles].sort());
    });
  });

  describe('versions', () => {
    it('Kafka: the release whose jars the stack runs', () => {
      expect(services.kafka!.image).toBe(`apache/kafka:${KAFKA_VERSION}`);
    });

    it('Jaeger: the v2 release the stack builds from its module version', () => {
      const minor = /^v1\.(\d+)\.0$/.exec(GO_TOOLS.jaeger.version)?.[1];
      // Jaeger v2.N ships from module version v1.(N + 63): v2.13.0 is v1.76.0.
      expect(services.jaeger!.image).toBe(`jaegertracing/jaeger:2.${Number(minor) - 63}.0`);
    });

    it('kafka-exporter: the Collector release the stack builds', () => {
      expect(services['kafka-exporter']!.image).toBe(
        `otel/opentelemetry-collector-contrib:${GO_TOOLS['kafka-exporter'].version.slice(1)}`,
      );
    });

    it('Prometheus: the 3.x release the stack builds from its module version', () => {
      // Prometheus 3.N.P ships from module version v0.3NN.P: 3.16.0 is v0.316.0.
      expect(prometheusRelease('v0.316.0')).toBe('3.16.0');
      expect(prometheusRelease('v0.300.1')).toBe('3.0.1');
      expect(services.prometheus!.image).toBe(`prom/prometheus:v${prometheusRelease(GO_TOOLS.prometheus.version)}`);
    });

    it('Alertmanager and the Pushgateway: the releases the stack builds', () => {
      expect(services.alertmanager!.image).toBe(`prom/alertmanager:${GO_TOOLS.alertmanager.version}`);
      expect(services.pushgateway!.image).toBe(`prom/pushgateway:${GO_TOOLS.pushgateway.version}`);
    });

    it('the version each build stamps into its binary is the release compose pins', () => {
      expect(GO_TOOLS.prometheus.ldflags).toMatch(
        new RegExp(`\\.Version=${prometheusRelease(GO_TOOLS.prometheus.version).replaceAll('.', '\\.')}$`),
      );
      for (const name of ['alertmanager', 'pushgateway'] as const) {
        expect(GO_TOOLS[name].ldflags).toMatch(
          new RegExp(`\\.Version=${GO_TOOLS[name].version.slice(1).replaceAll('.', '\\.')}$`),
        );
      }
    });
  });

  it('run Prometheus and Alertmanager with the same flags', () => {
    const flags = (name: string): string[] =>
      services[name]!.command!.filter((flag) => !/^--(config\.file|storage(\.tsdb)?\.path)=/.test(flag));
    expect(flags('prometheus')).toEqual(PROMETHEUS_FLAGS);
    expect(flags('alertmanager')).toEqual(ALERTMANAGER_FLAGS);
  });
});
