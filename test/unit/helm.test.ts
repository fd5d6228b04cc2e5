import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { CHART_RULES_FILE, RULES_FILE } from '../../dashboards/src/rules-file';
import { REPO_ROOT } from '../support/compose';
import { runCommand } from '../../scripts/kafka/jars';
import { ensureGoCommand, ensureGoTool, GO_TOOLS } from '../../scripts/tools/go-tools';
import {
  CHART_DIR,
  failureOf,
  find,
  helm,
  lint,
  objectsOf,
  RELEASE,
  template,
  VALUE_SETS,
  type KubeObject,
} from '../support/helm';

// Building helm and kube-check takes minutes on a cold cache; `npm test` has built them before.
jest.setTimeout(900_000);

const scratch = mkdtempSync(path.join(tmpdir(), 'helm-chart-'));

interface Decoded {
  apiVersion: string;
  kind: string;
  name: string;
  source?: string;
}

/** The rendered chart through scripts/tools/kube-check: every object strictly decoded into its API type. */
async function decode(rendered: string): Promise<Decoded[]> {
  const file = path.join(scratch, `rendered-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, rendered);
  const { stdout } = await runCommand(await ensureGoTool('kube-check'), [file]);
  return JSON.parse(stdout) as Decoded[];
}

const kinds = (objects: Array<{ kind: string }>): string[] => objects.map((object) => object.kind).sort();

const name = (component: string): string => `${RELEASE}-event-pipeline-${component}`;

it('checks with the Helm release the tools pin', async () => {
  expect((await helm('version', '--short')).trim()).toMatch(
    new RegExp(`^${GO_TOOLS.helm.version.replaceAll('.', '\\.')}\\b`),
  );
});

// `helm lint` and `helm template` on every value set (the defaults and deploy/helm/event-pipeline/ci/),
// each rendered object decoded strictly into the real Kubernetes, Prometheus Operator and KEDA
// types, the rules through promtool.
describe.each(VALUE_SETS)('the chart with the $name values', ({ name: set, files }) => {
  let rendered: string;
  let objects: KubeObject[];

  beforeAll(async () => {
    rendered = await template(files);
    objects = objectsOf(rendered);
  });

  it('passes helm lint --strict', async () => {
    expect(await lint(files)).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders only objects that decode strictly into the API types, unknown fields refused', async () => {
    const decoded = await decode(rendered);
    expect(kinds(decoded)).toEqual(kinds(objects));
    expect(decoded.every((object) => object.source?.startsWith('event-pipeline/templates/'))).toBe(true);
  });

  it('runs both services, each with a disruption budget or none as asked', () => {
    find(objects, 'Deployment', name('producer'));
    find(objects, 'Deployment', name('consumer'));
    expect(objects.filter((object) => object.kind === 'PodDisruptionBudget').length).toBe(
      set === 'monitoring-off' ? 1 : 2,
    );
  });

  it('carries the generated alert rules, which promtool accepts', async () => {
    const rules = objects.filter((object) => object.kind === 'PrometheusRule');
    if (set === 'monitoring-off') {
      expect(rules).toEqual([]);
      return;
    }
    expect(rules).toHaveLength(1);
    // The very groups compose and the local stack load.
    expect(rules[0]!.spec).toEqual(parse(readFileSync(RULES_FILE, 'utf8')));
    const file = path.join(scratch, `${set}.rules.yml`);
    writeFileSync(file, stringify(rules[0]!.spec));
    const { stdout } = await runCommand(await ensureGoCommand('prometheus', 'promtool'), ['check', 'rules', file]);
    expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
  });
});

// The chart says Helm 3 and 4: the last Helm 3 line lints it and renders the very same objects.
describe.each(VALUE_SETS)('Helm 3 with the $name values', ({ files }) => {
  it('passes helm lint --strict and renders what Helm 4 renders', async () => {
    expect(await lint(files, [], 'helm3')).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(objectsOf(await template(files, [], 'helm3'))).toEqual(objectsOf(await template(files)));
  });
});

describe('the chart with the default values', () => {
  let objects: KubeObject[];

  beforeAll(async () => {
    objects = objectsOf(await template());
  });

  it('renders the producer, the consumer, their monitors, the rules and the dashboards', () => {
    expect(objects.map((object) => `${object.kind}/${object.metadata.name}`).sort()).toEqual(
      [
        `ConfigMap/${name('consumer')}`,
        `ConfigMap/${name('dashboard-kafka')}`,
        `ConfigMap/${name('dashboard-overview')}`,
        `ConfigMap/${name('dashboard-runtime')}`,
        `ConfigMap/${name('producer')}`,
        `Deployment/${name('consumer')}`,
        `Deployment/${name('producer')}`,
        `HorizontalPodAutoscaler/${name('producer')}`,
        `PodDisruptionBudget/${name('consumer')}`,
        `PodDisruptionBudget/${name('producer')}`,
        `PodMonitor/${name('consumer')}`,
        `PrometheusRule/${RELEASE}-event-pipeline`,
        `Service/${name('producer')}`,
        `ServiceMonitor/${name('producer')}`,
      ].sort(),
    );
  });

  it('leaves the producer replicas to its HorizontalPodAutoscaler, on CPU', () => {
    expect(find(objects, 'Deployment', name('producer')).spec!.replicas).toBeUndefined();
    expect(find(objects, 'HorizontalPodAutoscaler', name('producer')).spec).toMatchObject({
      scaleTargetRef: { kind: 'Deployment', name: name('producer') },
      metrics: [{ type: 'Resource', resource: { name: 'cpu' } }],
    });
  });

  it('labels the dashboards for the sidecar', () => {
    const dashboards = objects.filter((object) => object.metadata.name.includes('-dashboard-'));
    for (const board of dashboards) expect(board.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
  });

  it('hardens both pods: non-root, read-only root, no escalation, no capabilities, no token', () => {
    for (const component of ['producer', 'consumer']) {
      const pod = (find(objects, 'Deployment', name(component)).spec as { template: { spec: PodSpec } }).template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.containers[0]!.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        privileged: false,
        capabilities: { drop: ['ALL'] },
      });
    }
  });
});

interface PodSpec {
  securityContext?: Record<string, unknown>;
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  containers: Array<{ securityContext?: Record<string, unknown> }>;
}

describe('the chart with KEDA on', () => {
  it('scales the consumer with a ScaledObject on the group lag, authenticated as the services are', async () => {
    const objects = objectsOf(await template([path.join(CHART_DIR, 'ci', 'keda-values.yaml')]));
    expect(find(objects, 'Deployment', name('consumer')).spec!.replicas).toBeUndefined();
    expect(find(objects, 'ScaledObject', name('consumer')).spec).toMatchObject({
      scaleTargetRef: { name: name('consumer') },
      maxReplicaCount: 12,
      triggers: [
        {
          type: 'kafka',
          metadata: {
            consumerGroup: 'events-processor',
            topic: 'events',
            lagThreshold: '500',
            offsetResetPolicy: 'latest',
            sasl: 'scram_sha512',
            tls: 'enable',
          },
          authenticationRef: { name: name('consumer') },
        },
      ],
    });
    const parameters = (
      find(objects, 'TriggerAuthentication', name('consumer')).spec as { secretTargetRef: Array<{ parameter: string }> }
    ).secretTargetRef.map((ref) => ref.parameter);
    expect(parameters).toEqual(['username', 'password', 'ca']);
  });
});

// values.schema.json and the chart's own checks: a wrong value fails at install, with a message
// that names it, not later in a crash loop.
describe('a wrong value', () => {
  it.each([
    ['a replica count of zero', ['producer.replicas=0'], /producer\/replicas.*minimum/is],
    ['an unknown SASL mechanism', ['kafka.sasl.mechanism=gssapi'], /kafka\/sasl\/mechanism/],
    ['a broker without a port', ['kafka.brokers={kafka}'], /kafka\/brokers\/0/],
    ['a misspelt service variable', ['producer.config.MAX_INFLIGHT_BYTE=1'], /MAX_INFLIGHT_BYTE/],
    ['a variable the chart sets itself', ['consumer.config.KAFKA_BROKERS=x:1'], /KAFKA_BROKERS/],
    ['a short API key', ['producer.apiKeys={short}'], /producer\/apiKeys\/0/],
    ['an unknown top-level key', ['replicas=3'], /replicas/],
    ['a bad memory quantity', ['producer.resources.limits.memory=512MB'], /producer\/resources\/limits\/memory/],
  ])('fails helm template and helm lint: %s', async (_, set, message) => {
    const rendering = await failureOf(template([], set));
    expect(rendering.output).toMatch(message);
    const linting = await failureOf(lint([], set));
    expect(linting.output).toMatch(message);
    // Helm 3 reads the schema too (its messages are worded alike).
    await failureOf(template([], set, 'helm3'));
  });

  // The chart's own bounds between values are `fail`s in its templates: `helm template` and
  // `helm install` stop on them, while `helm lint` only logs a template's fail (its lint mode).
  it.each([
    [
      'a grace period shorter than the drain',
      ['producer.terminationGracePeriodSeconds=15'],
      /producer\.terminationGracePeriodSeconds \(15\) must exceed preStopSeconds plus shutdownTimeoutMs \(20 s together\)/,
    ],
    [
      'more consumers than partitions',
      ['consumer.replicas=7'],
      /consumer\.replicas \(7\) exceeds kafka\.topicPartitions \(6\)/,
    ],
    [
      'KEDA allowed more consumers than partitions',
      ['consumer.keda.enabled=true', 'consumer.keda.maxReplicas=8'],
      /consumer\.keda\.maxReplicas \(8\) exceeds kafka\.topicPartitions \(6\)/,
    ],
    [
      'an Ingress without API keys',
      ['producer.ingress.enabled=true'],
      /producer\.ingress\.enabled without API keys would open POST \/events to anyone/,
    ],
    [
      'API keys in an existing Secret that is not named',
      ['producer.apiKeysInExistingSecret=true'],
      /producer\.apiKeysInExistingSecret is set: name the Secret in secrets\.existingSecret/,
    ],
    [
      'API keys as values that an existing Secret would shadow',
      ['secrets.existingSecret=mine', 'producer.apiKeys={0123456789abcdef}'],
      /producer\.apiKeys would be ignored/,
    ],
    [
      'SASL without credentials',
      ['kafka.sasl.mechanism=plain'],
      /kafka\.sasl\.mechanism is set: give kafka\.sasl\.username and kafka\.sasl\.password/,
    ],
  ])('fails helm template: %s', async (_, set, message) => {
    expect((await failureOf(template([], set))).output).toMatch(message);
    expect((await failureOf(template([], set, 'helm3'))).output).toMatch(message);
  });
});

// Issue 29: the key was `optional: true` whenever it came from an existing Secret, so a Secret
// without `api-keys` started the producer with authentication off, and nothing said so.
describe('the API keys of the producer', () => {
  interface EnvVar {
    name: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
  }
  const apiKeysEnv = async (set: string[]): Promise<EnvVar | undefined> => {
    const deployment = find(objectsOf(await template([], set)), 'Deployment', name('producer'));
    const pod = (deployment.spec as { template: { spec: { containers: Array<{ env: EnvVar[] }> } } }).template.spec;
    return pod.containers[0]!.env.find((variable) => variable.name === 'API_KEYS');
  };

  it.each([
    ['given as values', ['producer.apiKeys={0123456789abcdef}'], `${RELEASE}-event-pipeline`],
    ['in an existing Secret', ['secrets.existingSecret=mine', 'producer.apiKeysInExistingSecret=true'], 'mine'],
  ])('when they are %s, then the pod needs the Secret key and does not start without it', async (_, set, secret) => {
    expect((await apiKeysEnv(set))?.valueFrom?.secretKeyRef).toEqual({
      name: secret,
      key: 'api-keys',
      optional: false,
    });
  });

  it('when an existing Secret holds only Kafka credentials, then the producer gets no API_KEYS at all', async () => {
    expect(await apiKeysEnv(['secrets.existingSecret=mine'])).toBeUndefined();
  });

  it('when an open Ingress is asked for explicitly, then the chart renders it', async () => {
    const objects = objectsOf(
      await template([], ['producer.ingress.enabled=true', 'producer.ingress.allowUnauthenticated=true']),
    );
    expect(find(objects, 'Ingress', name('producer'))).toBeDefined();
  });
});

describe('the strict decode (scripts/tools/kube-check)', () => {
  // What it must refuse, so that a pass above means something.
  it.each([
    [
      'an unknown field',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndatas: {a: b}\n',
      /unknown field "datas"/,
    ],
    [
      'a misplaced field in a Deployment',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers: [{name: x, image: app, readinessProbe: {path: /health/ready}}]\n',
      /unknown field "spec.template.spec.containers\[0\].readinessProbe.path"/,
    ],
    [
      'a number where KEDA wants a string',
      'apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: x}\nspec:\n  scaleTargetRef: {name: x}\n  triggers: [{type: kafka, metadata: {lagThreshold: 100}}]\n',
      /cannot unmarshal number into Go struct field ScaleTriggers.spec.triggers.metadata of type string/,
    ],
    ['a kind outside the known groups', 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: x}\n', /Widget/],
    [
      'a selector that misses its template',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: c}}\n    spec:\n      containers: [{name: x, image: app}]\n',
      /selector.*does not match template/,
    ],
    [
      'a probe on an undeclared port',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers: [{name: x, image: app, ports: [{name: http, containerPort: 8080}], livenessProbe: {httpGet: {path: /, port: metrics}}}]\n',
      /livenessProbe.httpGet.port: Not found: "metrics"/,
    ],
    [
      'a name that is no DNS subdomain',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Not_A_Name}\n',
      /metadata.name/,
    ],
  ])('refuses %s', async (_, manifest, message) => {
    const failure = await failureOf(decode(manifest));
    expect(failure.output).toMatch(message);
  });
});

describe("the chart's generated copies", () => {
  it('hold the rules observability/prometheus/rules holds, byte for byte', () => {
    expect(readFileSync(CHART_RULES_FILE, 'utf8')).toBe(readFileSync(RULES_FILE, 'utf8'));
  });
});

describe('the Strimzi example of the README and docs/kubernetes.md', () => {
  // The YAML blocks that name Strimzi's bootstrap Service, their list indentation taken off.
  const examples = (file: string): unknown[] =>
    [...readFileSync(path.join(REPO_ROOT, file), 'utf8').matchAll(/^( *)```yaml\n([\s\S]*?)^ *```/gm)]
      .filter((match) => match[2]!.includes('my-cluster-kafka-bootstrap'))
      .map((match) => parse(match[2]!.replace(new RegExp(`^${match[1]!}`, 'gm'), '')));

  it.each(['README.md', 'docs/kubernetes.md'])('in %s is the strimzi value set the checks render', (file) => {
    const strimzi = parse(readFileSync(path.join(CHART_DIR, 'ci', 'strimzi-values.yaml'), 'utf8'));
    expect(examples(file)).toEqual([strimzi]);
  });
});
