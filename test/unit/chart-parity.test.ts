import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import request from 'supertest';
import { parse } from 'yaml';
import { createLogger, createMetricsRegistry, createOpsServer, describeConfig } from '@event-pipeline/common';
import { dlqConfigSchema } from '../../consumer/src/dlq/config';
import { monitoring } from '../../dashboards/src/config';
import { generatedFiles } from '../../dashboards/src/generate';
import { createApp } from '../../producer/src/app';
import { producerConfigSchema } from '../../producer/src/config';
import { createProducerMetrics } from '../../producer/src/metrics';
import { readCompose, REPO_ROOT } from '../support/compose';
import { dockerfileStage } from '../support/dockerfile';
import { CHART_DIR, find, objectsOf, RELEASE, template, VALUE_SETS, type KubeObject } from '../support/helm';

jest.setTimeout(900_000);

// The chart against the services it runs, the way stack-parity holds compose to the local stack:
// the same images and release, ports, probe paths that the services answer, variables they
// read, a drain the grace period covers, the job names the rules select, the generated
// dashboards. This fails when the chart and the services drift apart.

interface Container {
  name: string;
  image: string;
  ports: Array<{ name: string; containerPort: number }>;
  env?: Array<{ name: string; value?: string }>;
  envFrom?: Array<{ configMapRef?: { name: string } }>;
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  startupProbe: { httpGet: { path: string; port: string } };
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
  resources: { limits: { memory: string } };
}

interface PodSpec {
  terminationGracePeriodSeconds: number;
  securityContext: { runAsUser: number; runAsGroup: number };
  containers: Container[];
}

const SERVICES = {
  producer: { schema: producerConfigSchema, portVariable: 'PORT', portName: 'http' },
  // The consumer's image runs the `dlq` command too, configured by the same environment.
  consumer: { schema: dlqConfigSchema, portVariable: 'METRICS_PORT', portName: 'metrics' },
} as const;
type Service = keyof typeof SERVICES;
const SERVICE_NAMES = Object.keys(SERVICES) as Service[];

const name = (component: string): string => `${RELEASE}-event-pipeline-${component}`;

function podOf(objects: KubeObject[], service: Service): PodSpec {
  return (find(objects, 'Deployment', name(service)).spec as { template: { spec: PodSpec } }).template.spec;
}

/** Every variable the chart gives a service: its ConfigMap's keys and the container's env. */
function variablesOf(objects: KubeObject[], service: Service): string[] {
  const container = podOf(objects, service).containers[0]!;
  const fromConfigMaps = (container.envFrom ?? []).flatMap((source) =>
    Object.keys(find(objects, 'ConfigMap', source.configMapRef!.name).data ?? {}),
  );
  return [...fromConfigMaps, ...(container.env ?? []).map((entry) => entry.name)];
}

// Read by the OpenTelemetry SDK that the telemetry bootstrap starts (observability/src).
const OTEL_VARIABLES = [
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
  'OTEL_SDK_DISABLED',
  'OTEL_RESOURCE_ATTRIBUTES',
];
// The downward API's pod facts, only for $(...) references in OTEL_RESOURCE_ATTRIBUTES.
const POD_FACTS = ['POD_NAME', 'POD_NAMESPACE', 'NODE_NAME'];

const defaultOf = (service: Service, variable: string): unknown =>
  describeConfig(SERVICES[service].schema).find((entry) => entry.variable === variable)?.default;

/** The Dockerfile's stage that makes the service's image (`--target <service>`). */
function dockerfile(service: Service): string {
  return dockerfileStage(service).lines.join('\n');
}

interface ValuesSchema {
  properties: Record<Service, { properties: { config: { properties: Record<string, unknown> } } }>;
}

describe('the chart and the services', () => {
  const rendered = new Map<string, KubeObject[]>();
  let objects: KubeObject[];
  const chart = parse(readFileSync(path.join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { appVersion: string };
  const values = parse(readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<
    Service,
    { shutdownTimeoutMs: number; preStopSeconds?: number; terminationGracePeriodSeconds: number }
  >;
  const { services: composed } = readCompose();

  beforeAll(async () => {
    for (const set of VALUE_SETS) rendered.set(set.name, objectsOf(await template(set.files)));
    objects = rendered.get('default')!;
  });

  describe.each(SERVICE_NAMES)('%s', (service) => {
    const { portVariable, portName } = SERVICES[service];
    const container = (): Container => podOf(objects, service).containers[0]!;

    it("runs the image compose builds, tagged with the services' release", () => {
      const release = (
        JSON.parse(readFileSync(path.join(REPO_ROOT, service, 'package.json'), 'utf8')) as { version: string }
      ).version;
      expect(chart.appVersion).toBe(release);
      expect(container().image).toBe(`${composed[service]!.image}:${release}`);
    });

    it('listens on the port its config defaults to, which its image exposes', () => {
      const port = defaultOf(service, portVariable);
      expect(container().ports).toEqual([{ name: portName, containerPort: port, protocol: 'TCP' }]);
      expect(find(objects, 'ConfigMap', name(service)).data![portVariable]).toBe(String(port));
      expect(dockerfile(service)).toContain(`EXPOSE ${String(port)}`);
    });

    it("runs as the image's user", () => {
      const user = /^USER (\d+):(\d+)$/m.exec(dockerfile(service))!;
      expect(podOf(objects, service).securityContext).toMatchObject({
        runAsUser: Number(user[1]),
        runAsGroup: Number(user[2]),
      });
    });

    it('sets only variables the service reads, and every one it reads is settable', () => {
      const reads = Object.keys(SERVICES[service].schema.shape);
      const set = new Set([...rendered.values()].flatMap((each) => variablesOf(each, service)));
      for (const variable of set) {
        expect([
          variable,
          reads.includes(variable) || OTEL_VARIABLES.includes(variable) || POD_FACTS.includes(variable),
        ]).toEqual([variable, true]);
      }
      // Compose's settings have their place in the chart too.
      for (const variable of Object.keys(composed[service]!.environment ?? {})) expect([...set]).toContain(variable);
      // What the chart does not set from its own values, `<service>.config` takes, and only that.
      const schema = JSON.parse(readFileSync(path.join(CHART_DIR, 'values.schema.json'), 'utf8')) as ValuesSchema;
      const free = Object.keys(schema.properties[service].properties.config.properties);
      const chartSets = reads.filter((variable) => !free.includes(variable));
      expect([...free, ...chartSets].sort()).toEqual([...reads].sort());
      for (const variable of chartSets.filter((each) => each !== 'HOST' && each !== 'KAFKA_CLIENT_ID')) {
        expect([variable, set.has(variable)]).toEqual([variable, true]);
      }
    });

    it('drains within the grace period, on the shut-down bound the service defaults to', () => {
      const bound = defaultOf(service, 'SHUTDOWN_TIMEOUT_MS') as number;
      expect(values[service].shutdownTimeoutMs).toBe(bound);
      const pod = podOf(objects, service);
      const preStop = container().lifecycle?.preStop?.sleep?.seconds ?? 0;
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(preStop + bound / 1000);
      if (service === 'producer') expect(preStop).toBeGreaterThan(0);
    });

    it("limits its memory as compose does (the services' budget)", () => {
      // Compose runs a producer worker per core it may use; the chart one per pod (pods scale
      // out), in the memory compose gives every other Node service.
      const composeService = service === 'producer' ? 'consumer' : service;
      const limit = composed[composeService]!.deploy!.resources!.limits!.memory!;
      expect(container().resources.limits.memory).toBe(limit.replace(/m$/, 'Mi').replace(/g$/, 'Gi'));
      if (service === 'producer') expect(find(objects, 'ConfigMap', name('producer')).data?.PRODUCER_WORKERS).toBe('1');
    });

    it('probes paths the service answers: live always, ready only when it is', async () => {
      const probes = container();
      expect(
        [probes.livenessProbe, probes.startupProbe, probes.readinessProbe].map((probe) => probe.httpGet.port),
      ).toEqual([portName, portName, portName]);
      for (const ready of [true, false]) {
        const server = serviceWith(service, ready);
        await request(server).get(probes.livenessProbe.httpGet.path).expect(200);
        await request(server).get(probes.startupProbe.httpGet.path).expect(200);
        await request(server)
          .get(probes.readinessProbe.httpGet.path)
          .expect(ready ? 200 : 503);
      }
    });
  });

  it('scrapes under the job names the rules and dashboards select', () => {
    const job = (object: KubeObject, endpoints: string): string => {
      const [endpoint] = object.spec![endpoints] as Array<{
        relabelings: Array<{ targetLabel: string; replacement: string }>;
      }>;
      return endpoint!.relabelings.find((relabel) => relabel.targetLabel === 'job')!.replacement;
    };
    expect(job(find(objects, 'ServiceMonitor', name('producer')), 'endpoints')).toBe(monitoring.jobs.producer);
    expect(job(find(objects, 'PodMonitor', name('consumer')), 'podMetricsEndpoints')).toBe(monitoring.jobs.consumer);
    const exporter = find(rendered.get('sasl')!, 'PodMonitor', name('kafka-exporter'));
    expect(job(exporter, 'podMetricsEndpoints')).toBe(monitoring.jobs.kafkaExporter);
  });

  it('ships the dashboards the generator writes, on the datasource asked for', () => {
    const data = (set: string): Record<string, string> =>
      Object.assign(
        {},
        ...rendered
          .get(set)!
          .filter((object) => object.kind === 'ConfigMap' && object.metadata.name.includes('-dashboard-'))
          .map((object) => object.data),
      ) as Record<string, string>;
    const generated = Object.fromEntries([...generatedFiles()].map(([file, json]) => [file, json.trimEnd()]));
    expect(data('default')).toEqual(generated);
    const renamed = Object.fromEntries(
      Object.entries(generated).map(([file, json]) => [
        file,
        json.replaceAll('"uid": "prometheus"', '"uid": "my-prometheus"'),
      ]),
    );
    expect(data('sasl')).toEqual(renamed);
  });
});

/** The service's HTTP side in-process, its Kafka side ready or not. */
function serviceWith(service: Service, ready: boolean): Server | ReturnType<ReturnType<typeof createApp>['callback']> {
  const registry = createMetricsRegistry();
  const logger = createLogger({ service: 'test', level: 'silent' });
  if (service === 'consumer') return createOpsServer({ registry, isReady: () => ready, logger });
  return createApp({
    publisher: { publish: async () => undefined, readiness: () => ({ ready }) },
    logger,
    registry,
    metrics: createProducerMetrics(registry),
    bodyLimitBytes: 100_000,
    maxEventsPerRequest: 100,
    eventSource: 'urn:test',
    retryAfterSeconds: 1,
    isDraining: () => false,
  }).callback();
}
