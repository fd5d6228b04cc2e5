import { readFileSync } from 'node:fs';
import path from 'node:path';
import { KAFKA_VERSION } from '../../scripts/kafka/cluster';
import { GO_TOOLS } from '../../scripts/tools/go-tools';

const root = path.resolve(__dirname, '../..');

describe('docker-compose.yml', () => {
  const compose = readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');

  it('runs the Kafka version the local scripts and tests run', () => {
    expect(compose).toMatch(new RegExp(`image: apache/kafka:${KAFKA_VERSION.replaceAll('.', '\\.')}\\n`));
  });

  it('keeps the controller listener off 9093, which belongs to Alertmanager', () => {
    expect(compose).not.toMatch(/CONTROLLER:\/\/[^,\n]*:9093/);
  });

  it('starts the services only once Kafka is healthy', () => {
    expect(compose).toMatch(/depends_on:\n\s+kafka:\n\s+condition: service_healthy/);
  });

  it('runs the Jaeger release the local stack builds, with the same config file', () => {
    const minor = /^v1\.(\d+)\.0$/.exec(GO_TOOLS.jaeger.version)?.[1];
    // Jaeger v2.N ships from module version v1.(N + 63): v2.13.0 is v1.76.0.
    expect(compose).toContain(`image: jaegertracing/jaeger:2.${Number(minor) - 63}.0`);
    expect(compose).toContain('./observability/jaeger/config.yaml:/etc/jaeger/config.yaml:ro');
  });

  it('points both services at the trace backend with the standard OTLP variable only', () => {
    expect(compose).toMatch(/OTEL_EXPORTER_OTLP_ENDPOINT: \$\{OTEL_EXPORTER_OTLP_ENDPOINT:-http:\/\/jaeger:4318\}/);
  });

  it('runs kafka-exporter, Prometheus and Alertmanager with the config files the local stack runs', () => {
    expect(compose).toContain('./observability/kafka-exporter/config.yaml:/etc/kafka-exporter/config.yaml:ro');
    expect(compose).toContain('./observability/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro');
    expect(compose).toContain('./observability/alertmanager/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro');
    // The Collector release that the local kafka-exporter is built at.
    expect(compose).toContain(
      `image: otel/opentelemetry-collector-contrib:${GO_TOOLS['kafka-exporter'].version.slice(1)}`,
    );
    expect(compose).toContain('--enable-feature=exemplar-storage');
  });
});
