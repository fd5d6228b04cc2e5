// Programs the tests take from Debian's packages: kcat (a Kafka reader that is not KafkaJS), and
// podman with runc and mmdebstrap (the image tests build and run our Dockerfiles with them, on a
// base made here). Installed with apt-get when missing and this process may (root); otherwise
// the error says what to install. Prometheus, Alertmanager and the Pushgateway are built from the
// Go module proxy (go-tools.ts), at the releases compose pins.
import { existsSync } from 'node:fs';
import { access, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCommand } from '../kafka/jars';

/** Each program, by the name its Debian package installs it under, and that package. */
export const DEBIAN_TOOLS = {
  kcat: 'kcat',
  podman: 'podman',
  runc: 'runc',
  mmdebstrap: 'mmdebstrap',
} as const;

export type DebianToolName = keyof typeof DEBIAN_TOOLS;

async function onPath(program: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, program);
    try {
      await access(candidate);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * apt-get runs one at a time (dpkg holds a lock): each call waits for the one before it, then
 * installs what is still missing of its own packages. (Sharing the install under way, as this
 * once did, left out a package the later caller wanted and the earlier one did not: a new
 * machine's tools step missed kcat while the image base's step installed podman.)
 */
let installs: Promise<unknown> = Promise.resolve();

// Debian's maintainer scripts ask this file whether to start a package's service; 101: "no".
const POLICY_RC_D = '/usr/sbin/policy-rc.d';

async function install(packages: string[]): Promise<void> {
  if (process.getuid?.() !== 0 || (await onPath('apt-get')) === undefined) {
    throw new Error(`install the Debian package(s) ${packages.join(' ')} (apt-get install ${packages.join(' ')})`);
  }
  process.stderr.write(`tools: installing ${packages.join(' ')} with apt-get (once)\n`);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  const aptInstall = (): Promise<unknown> =>
    runCommand('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages], env);
  // A package must not start a system service of its own: the tests start what they need, on
  // ports of their own.
  let ownPolicy = false;
  if (!existsSync(POLICY_RC_D)) {
    await writeFile(POLICY_RC_D, '#!/bin/sh\n# Written by event-pipeline while it installs packages.\nexit 101\n', {
      mode: 0o755,
    });
    ownPolicy = true;
  }
  try {
    try {
      await aptInstall();
    } catch (error) {
      // A new machine has no package lists yet.
      if (!/Unable to locate package|has no installation candidate/.test(String(error))) throw error;
      await runCommand('apt-get', ['update', '-q'], env);
      await aptInstall();
    }
  } finally {
    if (ownPolicy) await rm(POLICY_RC_D, { force: true });
  }
  // And under systemd, not at the next boot either.
  if (existsSync('/run/systemd/system')) {
    // Each package's service is named after it.
    await runCommand('systemctl', ['disable', '--now', ...packages]).catch(() => undefined);
  }
}

/** The paths of the programs, installing their packages first when one is missing. */
export async function ensureDebianTools(...names: DebianToolName[]): Promise<Record<DebianToolName, string>> {
  const wanted = names.length > 0 ? names : (Object.keys(DEBIAN_TOOLS) as DebianToolName[]);
  const missingPackages = async (): Promise<string[]> => {
    const missing = new Set<string>();
    for (const name of wanted) if ((await onPath(name)) === undefined) missing.add(DEBIAN_TOOLS[name]);
    return [...missing];
  };
  if ((await missingPackages()).length > 0) {
    const turn = installs.then(async () => {
      // Looked at again: the install before this one may have brought some of them.
      const missing = await missingPackages();
      if (missing.length > 0) await install(missing);
    });
    installs = turn.catch(() => undefined);
    await turn;
  }
  const found = {} as Record<DebianToolName, string>;
  for (const name of wanted) {
    const where = await onPath(name);
    if (where === undefined) throw new Error(`${name} is still missing after installing ${DEBIAN_TOOLS[name]}`);
    found[name] = where;
  }
  return found;
}
