import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { COMPOSE_FILE, composeDefaults, publishedPorts, readCompose, REPO_ROOT } from '../support/compose';

// docker-compose.yml against itself: what the issue asks of it and what `docker compose up`
// needs to start in order. The real Compose loader checks it too (test/e2e/compose-config.test.ts);
// test/unit/stack-parity.test.ts holds it to the local stack.
describe('docker-compose.yml', () => {
  const compose = readCompose();
  const services = compose.services;
  const text = readFileSync(COMPOSE_FILE, 'utf8');

  it('defines the whole stack, Grafana on port 3000 among it', () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        'alertmanager',
        'consumer',
        'grafana',
        'jaeger',
        'kafka',
        'kafka-exporter',
        'producer',
        'prometheus',
        'pushgateway',
        'schema-registry',
        'schemas-push',
      ].sort(),
    );
    expect(publishedPorts(services.grafana!).map((port) => port.published)).toEqual([3000]);
  });

  it('gives every service a healthcheck but kafka-exporter, whose image has nothing to run one with, and the one-shot schemas-push', () => {
    const without = Object.entries(services)
      .filter(([, service]) => service.healthcheck === undefined)
      .map(([name]) => name);
    expect(without.sort()).toEqual(['kafka-exporter', 'schemas-push']);
  });

  it('starts the registry after Kafka, pushes the schemas once, and starts the services after both', () => {
    expect(services['schema-registry']!.image).toBe('apicurio/apicurio-registry:3.3.3');
    expect(services['schema-registry']!.depends_on?.kafka).toEqual({ condition: 'service_healthy' });
    // The image (UBI, OpenJDK 21) carries curl; the management port answers health.
    expect(services['schema-registry']!.healthcheck!.test.join(' ')).toContain(
      'curl -fsS -o /dev/null http://127.0.0.1:9081/health/ready',
    );
    expect(services['schemas-push']!.depends_on?.['schema-registry']).toEqual({ condition: 'service_healthy' });
    for (const name of ['producer', 'consumer']) {
      expect(services[name]!.depends_on?.['schemas-push']).toEqual({
        condition: 'service_completed_successfully',
      });
      expect(services[name]!.environment?.SCHEMA_REGISTRY_URL).toBe('http://schema-registry:8081/apis/ccompat/v7');
    }
  });

  it('checks Kafka and the services with their own tools, never curl or wget', () => {
    for (const name of ['kafka', 'producer', 'consumer']) {
      const test = services[name]!.healthcheck!.test.join(' ');
      expect(test).not.toMatch(/\b(curl|wget)\b/);
    }
    expect(services.kafka!.healthcheck!.test.join(' ')).toContain('/opt/kafka/bin/kafka-broker-api-versions.sh');
    expect(services.producer!.healthcheck!.test.join(' ')).toContain(
      "node -e fetch('http://127.0.0.1:8080/health/ready')",
    );
    expect(services.consumer!.healthcheck!.test.join(' ')).toContain(
      "node -e fetch('http://127.0.0.1:9464/health/ready')",
    );
  });

  it('starts the services only once Kafka is healthy, and whatever waits for health waits for a healthcheck', () => {
    for (const name of ['producer', 'consumer', 'kafka-exporter']) {
      expect(services[name]!.depends_on?.kafka).toEqual({ condition: 'service_healthy' });
    }
    expect(services.prometheus!.depends_on?.alertmanager).toEqual({ condition: 'service_healthy' });
    expect(services.grafana!.depends_on?.prometheus).toEqual({ condition: 'service_healthy' });
    for (const service of Object.values(services)) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        if (condition === 'service_healthy') expect(services[dependency]!.healthcheck).toBeDefined();
      }
    }
  });

  it('limits the memory of every service', () => {
    for (const [name, service] of Object.entries(services)) {
      expect([name, service.deploy?.resources?.limits?.memory]).toEqual([name, expect.stringMatching(/^\d+[mg]$/)]);
    }
  });

  it('publishes the ports a person opens on BIND_ADDRESS (this machine by default), the others on 127.0.0.1 only', () => {
    const ports = Object.values(services).flatMap(publishedPorts);
    const open = ports.filter((port) => port.hostIp === '${BIND_ADDRESS:-127.0.0.1}').map((port) => port.published);
    expect(open.sort((a, b) => a - b)).toEqual([3000, 8080, 8081, 9090, 9093, 16686]);
    const local = ports.filter((port) => port.hostIp === '127.0.0.1').map((port) => port.published);
    expect(local.sort((a, b) => a - b)).toEqual([4317, 4318, 9091, 9092, 9308]);
    expect(open.length + local.length).toBe(ports.length);
  });

  it('publishes no host port for the consumer, so `--scale consumer=3` does not collide', () => {
    expect(services.consumer!.ports).toBeUndefined();
    expect(services.consumer!.expose).toEqual(['9464']);
  });

  it('has a default for every variable, the one .env.example gives', () => {
    // Escaped ($$) references are the container shell's, not compose's.
    expect(text.replaceAll('$$', '').match(/\$\{\w+\}|\$\w+/g)).toBeNull();
    const example = parseEnv(readFileSync(path.join(REPO_ROOT, '.env.example'), 'utf8'));
    const defaults = composeDefaults();
    for (const [name, values] of defaults) {
      expect([name, [...values]]).toEqual([name, [example[name]]]);
    }
    expect(Object.keys(example).sort()).toEqual([...defaults.keys()].sort());
  });

  it('bakes no Grafana admin password in, and shows the dashboards to anonymous viewers', () => {
    const grafana = services.grafana!;
    expect(grafana.environment?.GF_SECURITY_ADMIN_PASSWORD).toBe('${GRAFANA_ADMIN_PASSWORD:-}');
    // Grafana ignores an empty password and would create admin/admin: without one, no admin.
    expect(grafana.entrypoint?.join(' ')).toMatch(
      /\[ -n "\$\$GF_SECURITY_ADMIN_PASSWORD" \] \|\| export GF_SECURITY_DISABLE_INITIAL_ADMIN_CREATION=true/,
    );
    expect(grafana.entrypoint?.join(' ')).toContain('exec /run.sh "$$@"');
    expect(grafana.environment).toMatchObject({
      GF_AUTH_ANONYMOUS_ENABLED: '${GRAFANA_ANONYMOUS_VIEWER:-true}',
      GF_AUTH_ANONYMOUS_ORG_ROLE: 'Viewer',
      GF_USERS_ALLOW_SIGN_UP: 'false',
    });
  });

  it('provisions Grafana from the repository: datasources, the dashboard provider and the generated dashboards', () => {
    expect(services.grafana!.volumes).toEqual(
      expect.arrayContaining([
        './observability/grafana/provisioning:/etc/grafana/provisioning:ro',
        './dashboards/generated:/var/lib/grafana/dashboards:ro',
      ]),
    );
  });

  it('keeps the controller listener off 9093, which belongs to Alertmanager', () => {
    expect(services.kafka!.environment?.KAFKA_LISTENERS).not.toMatch(/CONTROLLER:\/\/[^,]*:9093/);
  });

  it('points both services at the trace backend with the standard OTLP variable only', () => {
    for (const name of ['producer', 'consumer']) {
      expect(services[name]!.environment?.OTEL_EXPORTER_OTLP_ENDPOINT).toBe(
        '${OTEL_EXPORTER_OTLP_ENDPOINT:-http://jaeger:4318}',
      );
    }
  });

  it("builds each service from the repository root's Dockerfile, its own target", () => {
    for (const name of ['producer', 'consumer']) {
      expect(text).toContain(`      context: .\n      target: ${name}\n`);
    }
  });
});
