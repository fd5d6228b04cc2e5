import { readFileSync } from 'node:fs';
import path from 'node:path';
import { KAFKA_VERSION } from '../../scripts/kafka/cluster';

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
});
