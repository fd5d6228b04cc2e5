// Programs the tests and the local stack run beside the services, built once from the Go module
// proxy into the git-ignored .cache/tools/<name>-<version>/ and reused after that.
import { access, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { errorCode, relative, runCommand } from '../kafka/jars';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const TOOLS_DIR = path.join(REPO_ROOT, '.cache', 'tools');

interface GoTool {
  /** The package of the program's main. */
  pkg: string;
  version: string;
  /**
   * Built as a tool dependency of a throwaway module (`go get -tool`) rather than with
   * `go install pkg@version`, which refuses a module whose go.mod has `replace` directives.
   */
  viaToolDependency: boolean;
}

export const GO_TOOLS = {
  // Jaeger v2 (the `jaeger` command); its v2 releases ship from this module's v1.x tags.
  jaeger: { pkg: 'github.com/jaegertracing/jaeger/cmd/jaeger', version: 'v1.76.0', viaToolDependency: true },
} satisfies Record<string, GoTool>;

export type GoToolName = keyof typeof GO_TOOLS;

export function goToolPath(name: GoToolName): string {
  const tool: GoTool = GO_TOOLS[name];
  return path.join(TOOLS_DIR, `${name}-${tool.version}`, path.basename(tool.pkg));
}

function log(message: string): void {
  process.stderr.write(`tools: ${message}\n`);
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

const building = new Map<GoToolName, Promise<string>>();

/** The path of the tool's binary, building it first when it is not cached yet. */
export function ensureGoTool(name: GoToolName): Promise<string> {
  let pending = building.get(name);
  if (!pending) {
    pending = build(name).finally(() => building.delete(name));
    building.set(name, pending);
  }
  return pending;
}

async function build(name: GoToolName): Promise<string> {
  const tool: GoTool = GO_TOOLS[name];
  const binary = goToolPath(name);
  if (await exists(binary)) return binary;
  try {
    await runCommand('go', ['version']);
  } catch (error) {
    const why = errorCode(error) === 'ENOENT' ? 'there is no `go` on PATH' : String(error);
    throw new Error(`${name} is built from the Go module proxy and ${why}`, { cause: error });
  }
  log(`building ${name} ${tool.version} from ${tool.pkg} (once; a few minutes)`);
  const started = Date.now();
  await mkdir(TOOLS_DIR, { recursive: true });
  // Built apart and moved into place, so that two builds at once cannot leave half a binary.
  const work = await mkdtemp(path.join(TOOLS_DIR, `.${name}-build-`));
  try {
    const bin = path.join(work, 'bin');
    if (tool.viaToolDependency) {
      await writeFile(path.join(work, 'go.mod'), `module build.local/${name}\n\ngo 1.24\n`);
      await runIn(work, ['get', '-tool', `${tool.pkg}@${tool.version}`]);
      await runIn(work, ['install', 'tool'], { GOBIN: bin });
    } else {
      await runIn(work, ['install', `${tool.pkg}@${tool.version}`], { GOBIN: bin });
    }
    await mkdir(path.dirname(binary), { recursive: true });
    await rename(path.join(bin, path.basename(tool.pkg)), binary);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  log(`built ${relative(binary)} in ${Math.round((Date.now() - started) / 1000)} s`);
  return binary;
}

function runIn(cwd: string, args: string[], env: Record<string, string> = {}): Promise<unknown> {
  return runCommand('go', ['-C', cwd, ...args], env);
}
