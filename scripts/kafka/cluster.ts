// A real Apache Kafka (KRaft) on this machine, without Docker: the jars come from Maven Central
// (jars.ts) and every node is a detached JVM, so it outlives the process that started it.
// State lives in .cache/kafka/run/<name>/: cluster.json, tls/ (with SASL_SSL: a CA and the brokers'
// keystore, made at first start), and per node node-<i>/{server.properties, data/, kafka.log, kafka.pid}.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import {
  KAFKA_CACHE_DIR,
  KAFKA_VERSION,
  checkJava,
  ensureKafkaJars,
  errorCode,
  javaBinary,
  log,
  processExists,
  relative,
  runCommand,
  signalProcess,
} from './jars';

export { KAFKA_VERSION, ensureKafkaJars };

export interface KafkaClusterOptions {
  /** Instance name, default 'default'; its state lives in .cache/kafka/run/<name>/. */
  name?: string;
  /** Number of combined broker+controller nodes, default 1. */
  nodes?: number;
  /** Default 9092; node i listens on brokerPort + i. */
  brokerPort?: number;
  /** Default brokerPort + 1000; node i on controllerPort + i. Never 9093 (Alertmanager's). */
  controllerPort?: number;
  /** Written into every node's server.properties, over the harness's own settings. */
  extraProps?: Record<string, string>;
  /** Wipe the instance's data first, default true. */
  fresh?: boolean;
  /** Authenticated listeners beside the PLAINTEXT one, for testing secured clients. */
  security?: KafkaSecurityOptions;
  /** A listener for clients that reach the brokers through a proxy, for network-fault tests. */
  proxied?: KafkaProxiedListener;
}

/**
 * A second PLAINTEXT listener (named PROXIED): node i listens on `port` + i and advertises
 * `advertisedPort` + i, where a proxy in front of it listens, so that clients bootstrapped
 * through the proxy keep going through it for every broker. Inter-broker and controller traffic
 * stays on the direct listeners.
 */
export interface KafkaProxiedListener {
  port: number;
  advertisedPort: number;
}

/**
 * SASL listeners that accept PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 for the same users. The
 * SCRAM credentials are stored when the data is formatted, so users only take effect on a
 * fresh instance. Inter-broker and controller traffic stays on the PLAINTEXT listeners.
 */
export interface KafkaSecurityOptions {
  /** User name to password (letters, digits, '.', '_' and '-' only). */
  users: Record<string, string>;
  /** Node i's SASL_PLAINTEXT listener is on saslPort + i. */
  saslPort: number;
  /**
   * Node i's SASL_SSL listener is on saslSslPort + i. Its certificate (for `localhost`) is signed
   * by a CA made for the instance, whose PEM file is `KafkaCluster.caFile`.
   */
  saslSslPort?: number;
}

export interface KafkaCluster {
  readonly name: string;
  /** Bootstrap servers of the PLAINTEXT listeners. */
  readonly brokers: string[];
  /** Bootstrap servers of the SASL_PLAINTEXT listeners (empty without `security`). */
  readonly saslBrokers: string[];
  /** Bootstrap servers of the SASL_SSL listeners (empty without `security.saslSslPort`). */
  readonly saslSslBrokers: string[];
  /** PEM file of the CA that signs the SASL_SSL listeners' certificates. */
  readonly caFile: string | undefined;
  /** Bootstrap servers of the proxied listener: the proxy's addresses (empty without `proxied`). */
  readonly proxiedBrokers: string[];
  /** Where node i's proxied listener really listens, for the proxy's upstream (empty without `proxied`). */
  readonly proxiedUpstreams: string[];
  nodePid(i: number): number | undefined;
  /** SIGTERM (default) shuts down gracefully; resolves once the process is gone. */
  stopNode(i: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a stopped node with its data; resolves when it answers. */
  startNode(i: number): Promise<void>;
  pauseNode(i: number): void;
  resumeNode(i: number): void;
  /** Stops every node gracefully and keeps the data. */
  stop(): Promise<void>;
  /** Starts every stopped node; resolves when all answer. */
  start(): Promise<void>;
  /** Kills every node and deletes the instance's data. */
  destroy(): Promise<void>;
}

const RUN_DIR = path.join(KAFKA_CACHE_DIR, 'run');
const LOG4J_CONFIG = path.join(__dirname, 'log4j2.properties');
const ALERTMANAGER_PORT = 9093;
const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 60_000;
const HAS_PROC = existsSync('/proc/self/cmdline');
const START_MARK = '===== node started by scripts/kafka/cluster.ts at';

interface ClusterState {
  version: string;
  clusterId: string;
  nodes: number;
  brokerPort: number;
  controllerPort: number;
  saslPort?: number;
  saslSslPort?: number;
  proxiedPort?: number;
  proxiedAdvertisedPort?: number;
}

const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'];
const SCRAM_MECHANISMS = SASL_MECHANISMS.filter((mechanism) => mechanism.startsWith('SCRAM-'));
// Only guards the test keystore in the git-ignored run directory.
const KEYSTORE_PASSWORD = 'local-kafka-keystore';

export async function startKafkaCluster(opts: KafkaClusterOptions = {}): Promise<KafkaCluster> {
  const name = opts.name ?? 'default';
  const nodes = opts.nodes ?? 1;
  const brokerPort = opts.brokerPort ?? 9092;
  const controllerPort = opts.controllerPort ?? brokerPort + 1000;
  const { security } = opts;
  validate(name, nodes, {
    broker: brokerPort,
    controller: controllerPort,
    ...(security ? { sasl: security.saslPort } : {}),
    ...(security?.saslSslPort !== undefined ? { 'sasl-ssl': security.saslSslPort } : {}),
    ...(opts.proxied ? { proxied: opts.proxied.port, 'proxied (advertised)': opts.proxied.advertisedPort } : {}),
  });
  if (security) validateUsers(security.users);

  await Promise.all([ensureKafkaJars(), checkJava()]);
  let existing = await readState(name);
  if (existing && opts.fresh !== false) {
    await new LocalKafkaCluster(name, existing).destroy();
    existing = undefined;
  }
  if (existing && existing.nodes !== nodes) {
    throw new Error(
      `Kafka instance '${name}' holds the data of a ${existing.nodes}-node cluster; ` +
        `start it fresh (CLI: --fresh) for a ${nodes}-node one`,
    );
  }
  const state: ClusterState = {
    version: KAFKA_VERSION,
    clusterId: existing?.clusterId ?? (await randomClusterId()),
    nodes,
    brokerPort,
    controllerPort,
    ...(security ? { saslPort: security.saslPort } : {}),
    ...(security?.saslSslPort !== undefined ? { saslSslPort: security.saslSslPort } : {}),
    ...(opts.proxied ? { proxiedPort: opts.proxied.port, proxiedAdvertisedPort: opts.proxied.advertisedPort } : {}),
  };
  const cluster = new LocalKafkaCluster(name, state);
  for (const i of range(nodes)) if (cluster.nodePid(i) === undefined) await cluster.checkPortsFree(i);
  await cluster.configure(opts.extraProps ?? {}, security?.users ?? {});
  await cluster.start();
  return cluster;
}

/** The instance `name` as its files describe it (running or not), or undefined if it has none. */
export async function attachKafkaCluster(name = 'default'): Promise<KafkaCluster | undefined> {
  const state = await readState(name);
  return state && new LocalKafkaCluster(name, state);
}

/** Names of the instances that have state under .cache/kafka/run. */
export async function listKafkaClusters(): Promise<string[]> {
  const entries = await readdir(RUN_DIR, { withFileTypes: true }).catch(() => []);
  const names = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  const withState = await Promise.all(names.map(async (name) => ((await readState(name)) ? name : undefined)));
  return withState.filter((name): name is string => name !== undefined).sort();
}

/** `bases`: the first port of each kind of listener (node i listens on base + i). */
function validate(name: string, nodes: number, bases: Record<string, number>): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new Error(`Kafka instance name '${name}' must be letters, digits, '.', '_' or '-'`);
  }
  if (!Number.isInteger(nodes) || nodes < 1) throw new Error(`nodes must be a positive integer, not ${nodes}`);
  const ports = Object.entries(bases).map(([role, base]) => ({ role, ports: range(nodes).map((i) => base + i) }));
  const describe = (): string => ports.map(({ role, ports: list }) => `${role} on ${list.join(',')}`).join(', ');
  for (const port of ports.flatMap((group) => group.ports)) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`port ${port} is not a TCP port`);
    if (port === ALERTMANAGER_PORT) {
      throw new Error(
        `Kafka would listen on ${port}, Alertmanager's port (${describe()}); choose another broker port (CLI: --port)`,
      );
    }
  }
  const all = ports.flatMap((group) => group.ports);
  if (new Set(all).size !== all.length) throw new Error(`Kafka listener ports overlap: ${describe()}`);
}

function validateUsers(users: Record<string, string>): void {
  const entries = Object.entries(users);
  if (entries.length === 0) throw new Error('security.users must name at least one user');
  for (const [user, password] of entries) {
    // They go unquoted into --add-scram and into a JAAS line.
    if (!/^[A-Za-z0-9_.-]+$/.test(user) || !/^[A-Za-z0-9_.-]+$/.test(password)) {
      throw new Error(`user '${user}': names and passwords may hold only letters, digits, '.', '_' and '-'`);
    }
  }
}

class LocalKafkaCluster implements KafkaCluster {
  readonly brokers: string[];
  readonly saslBrokers: string[];
  readonly saslSslBrokers: string[];
  readonly caFile: string | undefined;
  readonly proxiedBrokers: string[];
  readonly proxiedUpstreams: string[];

  constructor(
    readonly name: string,
    private readonly state: ClusterState,
  ) {
    const listening = (base: number | undefined): string[] =>
      base === undefined ? [] : range(state.nodes).map((i) => `localhost:${base + i}`);
    this.brokers = listening(state.brokerPort);
    this.saslBrokers = listening(state.saslPort);
    this.saslSslBrokers = listening(state.saslSslPort);
    this.caFile = state.saslSslPort === undefined ? undefined : path.join(this.tlsDir, 'ca.pem');
    this.proxiedBrokers = listening(state.proxiedAdvertisedPort);
    this.proxiedUpstreams = listening(state.proxiedPort);
  }

  private get tlsDir(): string {
    return path.join(this.dir, 'tls');
  }

  private get dir(): string {
    return instanceDir(this.name);
  }

  private nodeFile(i: number, file: 'server.properties' | 'data' | 'kafka.log' | 'kafka.pid'): string {
    return path.join(this.dir, `node-${i}`, file);
  }

  /** Writes cluster.json and the nodes' configs and formats new data dirs; running nodes must already match. */
  async configure(extraProps: Record<string, string>, users: Record<string, string>): Promise<void> {
    const all = range(this.state.nodes);
    const props = all.map((i) => this.serverProperties(i, extraProps, users));
    const stopped: number[] = [];
    for (const i of all) {
      if (this.nodePid(i) === undefined) {
        stopped.push(i);
        continue;
      }
      const propsFile = this.nodeFile(i, 'server.properties');
      if ((await readFile(propsFile, 'utf8').catch(() => '')) !== props[i]) {
        throw new Error(
          `Kafka instance '${this.name}' is running with other settings (${relative(propsFile)}); ` +
            `stop it first (npm run kafka:down -- --name ${this.name}) or start it fresh`,
        );
      }
    }
    await mkdir(this.dir, { recursive: true });
    await writeFile(path.join(this.dir, 'cluster.json'), `${JSON.stringify(this.state, null, 2)}\n`);
    if (this.state.saslSslPort !== undefined) await this.ensureKeystore();
    const libs = await ensureKafkaJars();
    const scramUsers = Object.entries(users).flatMap(([user, password]) =>
      SCRAM_MECHANISMS.flatMap((mechanism) => ['--add-scram', `${mechanism}=[name=${user},password=${password}]`]),
    );
    await Promise.all(
      stopped.map(async (i) => {
        const propsFile = this.nodeFile(i, 'server.properties');
        await mkdir(this.nodeFile(i, 'data'), { recursive: true });
        await writeFile(propsFile, props[i] ?? '');
        if (existsSync(path.join(this.nodeFile(i, 'data'), 'meta.properties'))) return;
        // With a static controller.quorum.voters list every node formats with the same id and no quorum flag.
        await runCommand(javaBinary(), [
          '-cp',
          classPath(libs),
          'kafka.tools.StorageTool',
          'format',
          '-t',
          this.state.clusterId,
          '-c',
          propsFile,
          ...scramUsers,
        ]);
      }),
    );
  }

  /** A CA and a keystore for the SASL_SSL listeners, made once per instance (its data wipe deletes them). */
  private async ensureKeystore(): Promise<void> {
    const file = (name: string): string => path.join(this.tlsDir, name);
    if (existsSync(file('broker.p12'))) return;
    await mkdir(this.tlsDir, { recursive: true });
    const openssl = (...args: string[]) => runCommand('openssl', args);
    await openssl(
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30', '-subj', `/CN=local Kafka CA ${this.name}`],
      ...['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
      ...['-keyout', file('ca.key'), '-out', file('ca.pem')],
    );
    await openssl(
      ...['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost'],
      ...['-keyout', file('broker.key'), '-out', file('broker.csr')],
    );
    await writeFile(file('broker.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    await openssl(
      ...['x509', '-req', '-days', '30', '-in', file('broker.csr'), '-extfile', file('broker.ext')],
      ...['-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('broker.pem')],
    );
    await openssl(
      ...['pkcs12', '-export', '-in', file('broker.pem'), '-inkey', file('broker.key'), '-certfile', file('ca.pem')],
      ...['-passout', `pass:${KEYSTORE_PASSWORD}`, '-out', file('broker.p12')],
    );
  }

  private serverProperties(i: number, extraProps: Record<string, string>, users: Record<string, string>): string {
    const { nodes, brokerPort, controllerPort, saslPort, saslSslPort, proxiedPort, proxiedAdvertisedPort } = this.state;
    const replicas = Math.min(nodes, 3);
    const minIsr = Math.min(nodes, 2);
    // Client listeners by name (each name but PROXIED is also its security protocol), with the
    // port each listens on and the one it advertises; the controller's is apart.
    const clientListeners: Array<[string, number, number]> = [['PLAINTEXT', brokerPort + i, brokerPort + i]];
    if (saslPort !== undefined) clientListeners.push(['SASL_PLAINTEXT', saslPort + i, saslPort + i]);
    if (saslSslPort !== undefined) clientListeners.push(['SASL_SSL', saslSslPort + i, saslSslPort + i]);
    if (proxiedPort !== undefined && proxiedAdvertisedPort !== undefined) {
      clientListeners.push(['PROXIED', proxiedPort + i, proxiedAdvertisedPort + i]);
    }
    const listening = clientListeners.map(([listener, port]) => `${listener}://localhost:${port}`).join(',');
    const advertised = clientListeners.map(([listener, , port]) => `${listener}://localhost:${port}`).join(',');
    const props: Record<string, string | number | boolean> = {
      'process.roles': 'broker,controller',
      'node.id': i + 1,
      listeners: `${listening},CONTROLLER://localhost:${controllerPort + i}`,
      'advertised.listeners': advertised,
      'inter.broker.listener.name': 'PLAINTEXT',
      'controller.listener.names': 'CONTROLLER',
      'listener.security.protocol.map': [
        ...clientListeners.map(([listener]) => `${listener}:${listener === 'PROXIED' ? 'PLAINTEXT' : listener}`),
        'CONTROLLER:PLAINTEXT',
      ].join(','),
      ...this.securityProperties(
        clientListeners.map(([listener]) => listener).filter((listener) => listener.startsWith('SASL_')),
        users,
      ),
      'controller.quorum.voters': range(nodes)
        .map((j) => `${j + 1}@localhost:${controllerPort + j}`)
        .join(','),
      'log.dirs': this.nodeFile(i, 'data'),
      'num.partitions': 1,
      'default.replication.factor': replicas,
      'offsets.topic.replication.factor': replicas,
      'transaction.state.log.replication.factor': replicas,
      'transaction.state.log.min.isr': minIsr,
      'share.coordinator.state.topic.replication.factor': replicas,
      'share.coordinator.state.topic.min.isr': minIsr,
      'group.initial.rebalance.delay.ms': 0,
      'auto.create.topics.enable': false,
      ...extraProps,
    };
    const lines = Object.entries(props).map(([key, value]) => `${key}=${String(value)}`);
    return `# Written by scripts/kafka/cluster.ts on every start of instance '${this.name}'.\n${lines.join('\n')}\n`;
  }

  /** SASL on the given listeners: PLAIN checks the users listed here, SCRAM the credentials stored at format time. */
  private securityProperties(listeners: string[], users: Record<string, string>): Record<string, string> {
    if (listeners.length === 0) return {};
    const plainUsers = Object.entries(users)
      .map(([user, password]) => ` user_${user}="${password}"`)
      .join('');
    const props: Record<string, string> = { 'sasl.enabled.mechanisms': SASL_MECHANISMS.join(',') };
    for (const listener of listeners.map((name) => name.toLowerCase())) {
      const prefix = `listener.name.${listener}`;
      props[`${prefix}.plain.sasl.jaas.config`] =
        `org.apache.kafka.common.security.plain.PlainLoginModule required${plainUsers};`;
      for (const mechanism of SCRAM_MECHANISMS) {
        props[`${prefix}.${mechanism.toLowerCase()}.sasl.jaas.config`] =
          'org.apache.kafka.common.security.scram.ScramLoginModule required;';
      }
    }
    if (listeners.includes('SASL_SSL')) {
      Object.assign(props, {
        'ssl.keystore.type': 'PKCS12',
        'ssl.keystore.location': path.join(this.tlsDir, 'broker.p12'),
        'ssl.keystore.password': KEYSTORE_PASSWORD,
        'ssl.key.password': KEYSTORE_PASSWORD,
      });
    }
    return props;
  }

  nodePid(i: number): number | undefined {
    this.checkIndex(i);
    const pid = Number(readFileIfExists(this.nodeFile(i, 'kafka.pid')).trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    return isKafkaNode(pid, this.nodeFile(i, 'server.properties')) ? pid : undefined;
  }

  async stopNode(i: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const pid = this.nodePid(i);
    if (pid !== undefined) {
      signalProcess(pid, signal);
      // A paused node handles SIGTERM only once it runs again.
      if (signal !== 'SIGKILL') signalProcess(pid, 'SIGCONT');
      if (!(await this.waitForExit(i, pid, STOP_TIMEOUT_MS))) {
        log(`node ${i} of '${this.name}' ignored ${signal} for ${STOP_TIMEOUT_MS / 1000} s; killing it`);
        signalProcess(pid, 'SIGKILL');
        await this.waitForExit(i, pid, STOP_TIMEOUT_MS);
      }
    }
    await rm(this.nodeFile(i, 'kafka.pid'), { force: true });
  }

  async startNode(i: number): Promise<void> {
    this.checkIndex(i);
    await this.launch(i);
    await this.waitUntilAnswering(i, [i + 1]);
  }

  pauseNode(i: number): void {
    process.kill(this.runningPid(i), 'SIGSTOP');
  }

  resumeNode(i: number): void {
    process.kill(this.runningPid(i), 'SIGCONT');
  }

  async stop(): Promise<void> {
    await Promise.all(range(this.state.nodes).map((i) => this.stopNode(i)));
  }

  async start(): Promise<void> {
    const all = range(this.state.nodes);
    const ids = all.map((i) => i + 1);
    for (const i of all) await this.launch(i);
    await Promise.all(all.map((i) => this.waitUntilAnswering(i, ids)));
  }

  async destroy(): Promise<void> {
    await Promise.all(range(this.state.nodes).map((i) => this.stopNode(i, 'SIGKILL')));
    await rm(this.dir, { recursive: true, force: true });
  }

  private checkIndex(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.state.nodes) {
      throw new Error(`Kafka instance '${this.name}' has nodes 0..${this.state.nodes - 1}, not ${i}`);
    }
  }

  private runningPid(i: number): number {
    const pid = this.nodePid(i);
    if (pid === undefined) throw new Error(`node ${i} of Kafka instance '${this.name}' is not running`);
    return pid;
  }

  /** Starts node i as a detached JVM unless it runs already. */
  private async launch(i: number): Promise<void> {
    if (this.nodePid(i) !== undefined) return;
    await this.checkPortsFree(i);
    const libs = await ensureKafkaJars();
    const heap = this.state.nodes === 1 ? ['-Xms256m', '-Xmx512m'] : ['-Xms128m', '-Xmx384m'];
    const logFile = await open(this.nodeFile(i, 'kafka.log'), 'a');
    try {
      await logFile.write(`${START_MARK} ${new Date().toISOString()}\n`);
      const child = spawn(
        javaBinary(),
        [
          ...heap,
          // The GC settings of Kafka's own start script.
          '-XX:+UseG1GC',
          '-XX:MaxGCPauseMillis=20',
          '-XX:InitiatingHeapOccupancyPercent=35',
          '-XX:+ExplicitGCInvokesConcurrent',
          '-Djava.awt.headless=true',
          `-Dlog4j2.configurationFile=${LOG4J_CONFIG}`,
          '-cp',
          classPath(libs),
          'kafka.Kafka',
          this.nodeFile(i, 'server.properties'),
        ],
        { cwd: path.join(this.dir, `node-${i}`), detached: true, stdio: ['ignore', logFile.fd, logFile.fd] },
      );
      child.unref();
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
      await writeFile(this.nodeFile(i, 'kafka.pid'), String(child.pid));
    } finally {
      await logFile.close();
    }
  }

  async checkPortsFree(i: number): Promise<void> {
    const ports: [string, number][] = [
      ['broker', this.state.brokerPort + i],
      ['controller', this.state.controllerPort + i],
    ];
    if (this.state.saslPort !== undefined) ports.push(['SASL', this.state.saslPort + i]);
    if (this.state.saslSslPort !== undefined) ports.push(['SASL_SSL', this.state.saslSslPort + i]);
    if (this.state.proxiedPort !== undefined) ports.push(['PROXIED', this.state.proxiedPort + i]);
    for (const [role, port] of ports) {
      if (await portIsFree(port)) continue;
      const holder = await instanceUsingPort(port);
      throw new Error(
        `cannot start node ${i} of Kafka instance '${this.name}': its ${role} port ${port} is in use` +
          (holder ? ` by Kafka instance '${holder}' (npm run kafka:down -- --name ${holder})` : ' by another program'),
      );
    }
  }

  private async waitUntilAnswering(i: number, nodeIds: number[]): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    const broker = this.brokers[i] ?? '';
    for (;;) {
      if (this.nodePid(i) === undefined) {
        throw new Error(`node ${i} of Kafka instance '${this.name}' exited while starting\n${await this.logTail(i)}`);
      }
      if (await seesBrokers(broker, nodeIds)) return;
      if (Date.now() > deadline) {
        throw new Error(
          `node ${i} of Kafka instance '${this.name}' did not answer on ${broker} within ` +
            `${READY_TIMEOUT_MS / 1000} s\n${await this.logTail(i)}`,
        );
      }
      await sleep(250);
    }
  }

  private async waitForExit(i: number, pid: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (isKafkaNode(pid, this.nodeFile(i, 'server.properties'))) {
      if (Date.now() > deadline) return false;
      await sleep(100);
    }
    return true;
  }

  /** The errors and last lines of node i's latest run, for failure messages. */
  private async logTail(i: number): Promise<string> {
    const file = this.nodeFile(i, 'kafka.log');
    const text = await readFile(file, 'utf8').catch(() => '');
    const lines = text.slice(text.lastIndexOf(START_MARK)).trimEnd().split('\n');
    const errors = lines.filter((line) => /^\[[^\]]+\] (ERROR|FATAL) /.test(line)).slice(0, 5);
    return [
      ...(errors.length > 0 ? [`--- first errors in ${relative(file)} ---`, ...errors] : []),
      `--- last lines of ${relative(file)} ---`,
      ...lines.slice(-25),
    ].join('\n');
  }
}

function instanceDir(name: string): string {
  return path.join(RUN_DIR, name);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function classPath(libs: string): string {
  return `${libs}${path.sep}*`;
}

function readFileIfExists(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return '';
    throw error;
  }
}

/** Whether pid is the JVM of the node configured by propsFile (not a recycled pid, not a zombie). */
function isKafkaNode(pid: number, propsFile: string): boolean {
  if (!HAS_PROC) return processExists(pid);
  return readFileIfExists(`/proc/${pid}/cmdline`).split('\0').includes(propsFile);
}

async function readState(name: string): Promise<ClusterState | undefined> {
  const file = path.join(instanceDir(name), 'cluster.json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw new Error(`${relative(file)} is unreadable (${String(error)}); delete ${relative(instanceDir(name))}`, {
      cause: error,
    });
  }
  if (!isClusterState(parsed)) {
    throw new Error(`${relative(file)} is not a cluster description; delete ${relative(instanceDir(name))}`);
  }
  return parsed;
}

function isClusterState(value: unknown): value is ClusterState {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.version === 'string' &&
    typeof record.clusterId === 'string' &&
    ['nodes', 'brokerPort', 'controllerPort'].every((key) => Number.isInteger(record[key]))
  );
}

async function randomClusterId(): Promise<string> {
  const { stdout } = await runCommand(javaBinary(), [
    '-cp',
    classPath(await ensureKafkaJars()),
    'kafka.tools.StorageTool',
    'random-uuid',
  ]);
  const id = stdout.trim().split('\n').pop()?.trim() ?? '';
  if (!/^[A-Za-z0-9_-]{22}$/.test(id)) throw new Error(`StorageTool random-uuid printed '${stdout.trim()}'`);
  return id;
}

/** Kafka binds "localhost" as 127.0.0.1, so that is where a clash shows. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

async function instanceUsingPort(port: number): Promise<string | undefined> {
  for (const name of await listKafkaClusters()) {
    const state = await readState(name);
    if (!state) continue;
    const cluster = new LocalKafkaCluster(name, state);
    const holds = range(state.nodes).some(
      (i) =>
        [state.brokerPort, state.controllerPort, state.saslPort, state.saslSslPort].some(
          (base) => base !== undefined && base + i === port,
        ) && cluster.nodePid(i) !== undefined,
    );
    if (holds) return name;
  }
  return undefined;
}

/** One metadata round trip to `broker` alone: true when it answers and lists every id in nodeIds. */
async function seesBrokers(broker: string, nodeIds: number[]): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'kafka-harness',
    brokers: [broker],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 3000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const { brokers } = await admin.describeCluster();
    return nodeIds.every((id) => brokers.some((b) => b.nodeId === id));
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
