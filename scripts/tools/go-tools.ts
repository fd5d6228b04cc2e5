// Programs the tests and the local stack run beside the services, built once from the Go module
// proxy into the git-ignored .cache/tools/<name>-<version>/ and reused after that.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { errorCode, relative, runCommand } from '../kafka/jars';
import { cachedBinary, log, TOOLS_DIR } from './cached-binary';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

type GoTool =
  | {
      /**
       * The package of the program's main, built as a tool dependency of a throwaway module
       * (`go get -tool`): `go install pkg@version` refuses a module whose go.mod has `replace`
       * directives, as Jaeger's has.
       */
      pkg: string;
      version: string;
      /** Linker flags, e.g. the version a release build stamps in (`-X pkg.var=value`). */
      ldflags?: string;
      /** More commands of the same module, built in the same run into the same folder (`ensureGoCommand`). */
      commands?: string[];
      /** Build tags, e.g. to leave out parts of the program we never use. */
      tags?: string[];
      /**
       * Folders of the module that its `//go:embed` wants but its published module lacks (web
       * assets a release build makes with npm first): the module is built from a copy with a
       * placeholder page in each, in place of its web UI.
       */
      uiPlaceholders?: { module: string; dirs: string[] };
    }
  | {
      /**
       * An OpenTelemetry Collector distribution that the Collector Builder (ocb, at `version`)
       * generates and compiles from a manifest of ours; the binary is named after `dist.name`.
       */
      builderManifest: string;
      version: string;
    }
  | {
      /** A program of ours: its main package with go.mod and go.sum in `source`, built with `go build`. */
      source: string;
      /** What it is built on, for people; go.mod pins it. */
      version: string;
      /** Only the benchmark runs it: `npm run bench` builds it, `ensure` without names does not. */
      benchOnly?: true;
    };

const COLLECTOR_BUILDER = 'go.opentelemetry.io/collector/cmd/builder';
// Where Prometheus' programs keep the version `--version` prints; their release builds set it.
const PROMETHEUS_VERSION_VAR = 'github.com/prometheus/common/version.Version';

/** The Prometheus release a module version of github.com/prometheus/prometheus builds: v0.316.0 is 3.16.0. */
export function prometheusRelease(moduleVersion: string): string {
  const match = /^v0\.3(\d\d)\.(\d+)$/.exec(moduleVersion);
  if (!match) throw new Error(`${moduleVersion} is not a module version of a Prometheus 3 release`);
  return `3.${Number(match[1])}.${match[2]}`;
}

export const GO_TOOLS = {
  // Jaeger v2 (the `jaeger` command); its v2 releases ship from this module's v1.x tags.
  jaeger: { pkg: 'github.com/jaegertracing/jaeger/cmd/jaeger', version: 'v1.76.0' },
  // kafka-exporter: a Collector with the kafkametrics receiver and the Prometheus exporter
  // (observability/kafka-exporter/builder.yaml); see docs/metrics.md for why.
  'kafka-exporter': {
    builderManifest: path.join(REPO_ROOT, 'observability', 'kafka-exporter', 'builder.yaml'),
    version: 'v0.165.0',
  },
  // Prometheus 3 and promtool. Its module versions name the release: v0.316.0 is Prometheus 3.16.0
  // (`prometheusRelease`), which compose's image names too (test/unit/stack-parity.test.ts).
  // `remove_all_sd` leaves out the service discoveries but file, HTTP and static ones, and
  // `enable_dns_sd` keeps DNS, the one compose's targets come from: the cloud providers' SDKs they
  // pull in are most of a full build. Without `builtinassets` the web UI is not in the binary
  // (its assets are built with npm in Prometheus' own repository); the HTTP API is.
  prometheus: {
    pkg: 'github.com/prometheus/prometheus/cmd/prometheus',
    commands: ['github.com/prometheus/prometheus/cmd/promtool'],
    version: 'v0.316.0',
    tags: ['netgo', 'remove_all_sd', 'enable_dns_sd'],
    ldflags: `-X ${PROMETHEUS_VERSION_VAR}=3.16.0`,
  },
  // Alertmanager and amtool. Its web UI's assets (ui/app/dist, built with npm) are not in the
  // published module, so its //go:embed finds nothing: built with a placeholder page there.
  alertmanager: {
    pkg: 'github.com/prometheus/alertmanager/cmd/alertmanager',
    commands: ['github.com/prometheus/alertmanager/cmd/amtool'],
    version: 'v0.35.0',
    tags: ['netgo'],
    ldflags: `-X ${PROMETHEUS_VERSION_VAR}=0.35.0`,
    uiPlaceholders: { module: 'github.com/prometheus/alertmanager', dirs: ['ui/app/dist/elm', 'ui/app/dist/mantine'] },
  },
  // The Pushgateway, where `dlq redrive` pushes its counts; its small UI is in its module.
  pushgateway: {
    pkg: 'github.com/prometheus/pushgateway',
    version: 'v1.11.5',
    tags: ['netgo'],
    ldflags: `-X ${PROMETHEUS_VERSION_VAR}=1.11.5`,
  },
  // Toxiproxy: a TCP proxy with faults (latency, bandwidth, cuts, resets) set over its HTTP API,
  // between the services and each broker in the reliability suite's network-fault scenario.
  toxiproxy: { pkg: 'github.com/Shopify/toxiproxy/v2/cmd/server', version: 'v2.5.0' },
  // docker-compose.yml loaded by the Compose Specification's reference loader (compose-go),
  // which `docker compose` itself uses: schema, interpolation, consistency.
  'compose-check': {
    source: path.join(REPO_ROOT, 'scripts', 'tools', 'compose-check'),
    version: 'compose-go v2.16.2',
  },
  // Helm, for the chart's `helm lint` and `helm template` checks (test/unit/helm.test.ts).
  helm: {
    pkg: 'helm.sh/helm/v4/cmd/helm',
    version: 'v4.3.2',
    // As Helm's release builds do; without it `helm version` says only v4.3.
    ldflags: '-X helm.sh/helm/v4/internal/version.version=v4.3.2',
  },
  // The last Helm 3 release line, so that the chart is checked to work with both.
  helm3: {
    pkg: 'helm.sh/helm/v3/cmd/helm',
    version: 'v3.21.4',
    // Its Makefile's flags: without the Kubernetes version of its client-go (v0.36), Helm 3
    // renders for Kubernetes v1.20 and refuses the chart's kubeVersion.
    ldflags: [
      '-X helm.sh/helm/v3/internal/version.version=v3.21.4',
      ...['chartutil', 'lint/rules'].flatMap((pkg) => [
        `-X helm.sh/helm/v3/pkg/${pkg}.k8sVersionMajor=1`,
        `-X helm.sh/helm/v3/pkg/${pkg}.k8sVersionMinor=36`,
      ]),
    ].join(' '),
  },
  // Kubernetes manifests decoded strictly into the real API types: k8s.io/api, the Prometheus
  // Operator's monitoring.coreos.com/v1 and KEDA's keda.sh/v1alpha1 (go.mod pins them).
  'kube-check': {
    source: path.join(REPO_ROOT, 'scripts', 'tools', 'kube-check'),
    version: 'k8s.io/api v0.37.2, prometheus-operator v0.95.2, keda v2.20.2',
  },
  // The benchmark's Benthos peer (bench/peers/benthos): Benthos v4.27.0's http_server input,
  // processors and kafka_franz output in a main of ours.
  benthos: {
    source: path.join(REPO_ROOT, 'bench', 'peers', 'benthos'),
    version: 'github.com/benthosdev/benthos/v4 v4.27.0',
    benchOnly: true,
  },
} satisfies Record<string, GoTool>;

export type GoToolName = keyof typeof GO_TOOLS;

/** The tools `npm test` and the stack need: all but the benchmark's peers. */
export const TEST_GO_TOOLS = (Object.keys(GO_TOOLS) as GoToolName[]).filter((name) => !('benchOnly' in GO_TOOLS[name]));

function digest(...files: string[]): string {
  const hash = createHash('sha256');
  for (const file of files) hash.update(readFileSync(file));
  return hash.digest('hex').slice(0, 12);
}

/** The files a program of ours is built from. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.go') || file === 'go.mod' || file === 'go.sum')
    .sort()
    .map((file) => path.join(dir, file));
}

/** Where a tool's binary is cached: by version, for a Collector also by its manifest, for ours by its sources. */
function goToolPath(name: GoToolName): string {
  const tool: GoTool = GO_TOOLS[name];
  if ('builderManifest' in tool) {
    return path.join(TOOLS_DIR, `${name}-${tool.version}-${digest(tool.builderManifest)}`, name);
  }
  if ('source' in tool) return path.join(TOOLS_DIR, `${name}-${digest(...sourceFiles(tool.source))}`, name);
  return path.join(TOOLS_DIR, `${name}-${tool.version}`, path.basename(tool.pkg));
}

/** The path of the tool's binary, building it first when it is not cached yet. */
export function ensureGoTool(name: GoToolName): Promise<string> {
  return cachedBinary(goToolPath(name), (work) => build(name, work));
}

/** The names of the commands a tool builds beside its main one (`promtool` beside `prometheus`). */
type GoCommand<Name extends GoToolName> = (typeof GO_TOOLS)[Name] extends { commands: readonly string[] }
  ? string
  : never;

/** The path of one of a tool's further commands, e.g. `ensureGoCommand('prometheus', 'promtool')`. */
export async function ensureGoCommand<Name extends GoToolName>(name: Name, command: GoCommand<Name>): Promise<string> {
  const tool: GoTool = GO_TOOLS[name];
  const known = 'commands' in tool ? (tool.commands ?? []).map((pkg) => path.basename(pkg)) : [];
  if (!known.includes(command))
    throw new Error(`${name} builds no command '${command}'; it builds ${known.join(', ')}`);
  // The tool is cached with its commands beside it (`cachedBinary`'s companions).
  return path.join(path.dirname(await ensureGoTool(name)), command);
}

/** Builds the tool in `work`; answers where the binary is, and where its further commands are. */
async function build(name: GoToolName, work: string): Promise<string | string[]> {
  const tool: GoTool = GO_TOOLS[name];
  try {
    await runCommand('go', ['version']);
  } catch (error) {
    const why = errorCode(error) === 'ENOENT' ? 'there is no `go` on PATH' : String(error);
    throw new Error(`${name} is built from the Go module proxy and ${why}`, { cause: error });
  }
  const from =
    'builderManifest' in tool ? relative(tool.builderManifest) : 'source' in tool ? relative(tool.source) : tool.pkg;
  log(`building ${name} ${tool.version} from ${from} (once; up to a few minutes)`);
  const bin = path.join(work, 'bin');
  if ('source' in tool) {
    const built = path.join(bin, name);
    await runCommand('go', ['-C', tool.source, 'build', '-buildvcs=false', '-trimpath', '-o', built, '.']);
    return built;
  }
  if ('builderManifest' in tool) {
    await runIn(work, ['install', `${COLLECTOR_BUILDER}@${tool.version}`], { GOBIN: bin });
    const output = path.join(work, 'dist');
    await runCommand(path.join(bin, 'builder'), ['--config', tool.builderManifest, '--output-path', output]);
    return path.join(output, name);
  }
  const packages = [tool.pkg, ...(tool.commands ?? [])];
  let goMod = `module build.local/${name}\n\ngo 1.24\n`;
  if (tool.uiPlaceholders) {
    const { module, dirs } = tool.uiPlaceholders;
    const source = path.join(work, 'source');
    await copyModule(module, tool.version, source);
    for (const dir of dirs) {
      await mkdir(path.join(source, dir), { recursive: true });
      // Alertmanager serves its pages from gzip files only.
      const page = uiPlaceholder(name, tool.version);
      await writeFile(path.join(source, dir, 'index.html'), page);
      await writeFile(path.join(source, dir, 'index.html.gz'), gzipSync(page));
    }
    goMod += `\nreplace ${module} => ./source\n`;
  }
  await writeFile(path.join(work, 'go.mod'), goMod);
  await runIn(work, ['get', '-tool', ...packages.map((pkg) => `${pkg}@${tool.version}`)]);
  // Stripped, without local paths, static (CGO_ENABLED=0, as the programs' release builds are):
  // less to link and no C compiler in the build.
  const ldflags = ['-s', '-w', ...('ldflags' in tool && tool.ldflags ? [tool.ldflags] : [])].join(' ');
  const tags = 'tags' in tool && tool.tags ? [`-tags=${tool.tags.join(',')}`] : [];
  await runIn(work, ['install', '-trimpath', ...tags, `-ldflags=${ldflags}`, 'tool'], {
    GOBIN: bin,
    CGO_ENABLED: '0',
  });
  return packages.map((pkg) => path.join(bin, path.basename(pkg)));
}

/** A writable copy of a module version's source, from the module cache (downloaded first if need be). */
async function copyModule(module: string, version: string, into: string): Promise<void> {
  const { stdout } = await runCommand('go', ['mod', 'download', '-json', `${module}@${version}`]);
  const { Dir: dir } = JSON.parse(stdout) as { Dir?: string };
  if (!dir) throw new Error(`go mod download named no folder for ${module}@${version}`);
  await cp(dir, into, { recursive: true });
  // The module cache's files are read-only, and so are their copies.
  await runCommand('chmod', ['-R', 'u+w', into]);
}

/** The page a program built without its web UI's assets shows where the UI would be. */
export function uiPlaceholder(name: string, version: string): string {
  return [
    '<!doctype html>',
    `<title>${name} ${version}</title>`,
    `<p>This ${name} was built by event-pipeline's tools from its Go module, which lacks the web UI's assets.`,
    'Its HTTP API works; see docs/operations.md.</p>',
    '',
  ].join('\n');
}

function runIn(cwd: string, args: string[], env: Record<string, string> = {}): Promise<unknown> {
  return runCommand('go', ['-C', cwd, ...args], env);
}
