import { readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');

// Its versions, ports and config files against the local stack's: test/unit/stack-parity.test.ts.
describe('docker-compose.yml', () => {
  const compose = readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');

  it('keeps the controller listener off 9093, which belongs to Alertmanager', () => {
    expect(compose).not.toMatch(/CONTROLLER:\/\/[^,\n]*:9093/);
  });

  it('starts the services only once Kafka is healthy', () => {
    expect(compose).toMatch(/depends_on:\n\s+kafka:\n\s+condition: service_healthy/);
  });

  it('points both services at the trace backend with the standard OTLP variable only', () => {
    expect(compose).toMatch(/OTEL_EXPORTER_OTLP_ENDPOINT: \$\{OTEL_EXPORTER_OTLP_ENDPOINT:-http:\/\/jaeger:4318\}/);
  });
});
