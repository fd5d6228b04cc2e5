// node-image: the base that the image test (test/e2e/images.test.ts) passes as the Dockerfile's
// NODE_IMAGE, made here because no Docker engine runs on these machines and registry images cannot
// be pulled; `npm run tools -- ensure` makes it beside the other tools. It mirrors the
// Dockerfile's default (node:<version>-<suite>-slim): a Debian root filesystem from mmdebstrap
// with the Node.js the repo already brings and npm. Everything podman keeps (this base, the build
// cache, the images) lives in the git-ignored .cache/images/.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { runCommand, type CommandOutput } from '../kafka/jars';
import { ensureDebianTools } from './debian';

const ROOT = path.resolve(__dirname, '..', '..');
const DOCKERFILE = path.join(ROOT, 'Dockerfile');
const IMAGES_DIR = path.join(ROOT, '.cache', 'images');
const CONTAINERS_CONF = path.join(__dirname, 'containers.conf');

/**
 * npm in the base image. The Node.js package the repo brings (node-linux-<arch>) holds the binary
 * alone, so npm comes from the npm registry too, pinned: the release the lock file is written with.
 */
export const NPM_VERSION = '11.19.1';

/**
 * The machine's CA bundle. The registries here sit behind a TLS-inspecting proxy, so `npm ci` in
 * the build needs it; it is bind-mounted over the image's own bundle for the build's RUN steps
 * only (`podman build --volume`), so no layer, and no shipped image, carries it.
 */
export const MACHINE_CA = '/etc/ssl/certs/ca-certificates.crt';

/** What the Dockerfile's default `NODE_IMAGE` names (node:<version>-<suite>-slim): the base mirrors it. */
export function defaultNodeImage(): { image: string; node: string; suite: string } {
  const match = /^ARG NODE_IMAGE=(node:(\d+\.\d+\.\d+)-([a-z]+)-slim)$/m.exec(readFileSync(DOCKERFILE, 'utf8'));
  if (!match) throw new Error(`${DOCKERFILE} has no ARG NODE_IMAGE=node:<version>-<suite>-slim`);
  return { image: match[1]!, node: match[2]!, suite: match[3]! };
}

// Every podman command runs with the test's own configuration and storage, and with the runtime
// and cgroup manager this kernel accepts (crun asks for what it refuses; no systemd here).
const PODMAN_FLAGS = [
  ...['--root', path.join(IMAGES_DIR, 'storage'), '--runroot', path.join(IMAGES_DIR, 'run')],
  ...['--tmpdir', path.join(IMAGES_DIR, 'libpod'), '--storage-driver', 'overlay'],
  ...['--runtime', 'runc', '--cgroup-manager=cgroupfs'],
];

/** Runs podman; a failure carries its output. Installs podman, runc and mmdebstrap first when missing. */
export async function podman(...args: string[]): Promise<CommandOutput> {
  await ensureDebianTools('podman', 'runc', 'mmdebstrap');
  return runCommand('podman', [...PODMAN_FLAGS, ...args], { CONTAINERS_CONF });
}

export function log(message: string): void {
  process.stderr.write(`images: ${message}\n`);
}

function nodeArch(): string {
  if (process.arch === 'x64' || process.arch === 'arm64') return process.arch;
  throw new Error(`no Node.js package for ${process.arch}`);
}

/** A package from the npm registry, packed once into `dir` (as scripts/with-node.sh brings Node). */
async function packed(spec: string, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const name = `${spec.replace(/@(?=[^@]+$)/, '-')}.tgz`;
  const file = path.join(dir, name);
  if (existsSync(file)) return file;
  const work = await mkdtemp(path.join(dir, '.pack-'));
  try {
    await runCommand('npm', ['pack', '--silent', '--pack-destination', work, spec]);
    const [tarball] = await readdir(work);
    if (!tarball) throw new Error(`npm pack ${spec} wrote nothing`);
    await rename(path.join(work, tarball), file);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return file;
}

/** The Node.js binary of `version`: scripts/with-node.sh's copy in .cache/node when it made one. */
async function nodeBinary(version: string): Promise<string> {
  const binary = path.join(ROOT, '.cache', 'node', version, 'bin', 'node');
  if (existsSync(binary)) return binary;
  const unpacked = path.join(IMAGES_DIR, 'downloads', `node-${version}`);
  const inside = path.join(unpacked, 'package', 'bin', 'node');
  if (!existsSync(inside)) {
    const tarball = await packed(`node-linux-${nodeArch()}@${version}`, path.join(IMAGES_DIR, 'downloads'));
    await mkdir(unpacked, { recursive: true });
    await runCommand('tar', ['-xzf', tarball, '-C', unpacked, 'package/bin/node']);
  }
  return inside;
}

/**
 * How the root filesystem is made: Debian's minimal variant with its CA bundle, trimmed of
 * documentation as Debian's slim images are, plus what the official Node images add: the `node`
 * user (uid 1000), Node itself and npm under /usr/local. The hooks run on this machine with the
 * root filesystem as $1; NODE_BINARY and NPM_TARBALL name the inputs.
 */
function mmdebstrapArgs(suite: string): string[] {
  const slim = ['/usr/share/doc/*', '/usr/share/man/*', '/usr/share/info/*', '/usr/share/locale/*'];
  return [
    '--variant=minbase',
    '--include=ca-certificates',
    ...slim.map((exclude) => `--dpkgopt=path-exclude=${exclude}`),
    '--dpkgopt=path-include=/usr/share/doc/*/copyright',
    '--customize-hook=chroot "$1" useradd --uid 1000 --user-group --create-home --shell /bin/bash node',
    '--customize-hook=install -m 0755 "$NODE_BINARY" "$1/usr/local/bin/node"',
    '--customize-hook=mkdir -p "$1/usr/local/lib/node_modules/npm" && tar -xzf "$NPM_TARBALL" --no-same-owner --strip-components=1 -C "$1/usr/local/lib/node_modules/npm"',
    '--customize-hook=ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm" && ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"',
    // npm trusts the system's bundle: Debian's in the image, the machine's during our builds.
    `--customize-hook=mkdir -p "$1/usr/local/etc" && echo "cafile=${MACHINE_CA}" > "$1/usr/local/etc/npmrc"`,
    suite,
  ];
}

const IMPORT_CHANGES = ['ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'CMD ["node"]'];
const BASE_REPOSITORY = 'localhost/event-pipeline-node';

let nodeImage: Promise<string> | undefined;

/**
 * The base image, made when its inputs changed (Node's and npm's versions, the suite, the recipe
 * above): its tag carries a hash of them, so a cached one is used as long as it fits.
 */
export function ensureNodeImage(): Promise<string> {
  nodeImage ??= makeNodeImage();
  return nodeImage;
}

async function makeNodeImage(): Promise<string> {
  const { node, suite } = defaultNodeImage();
  const recipe = JSON.stringify({
    node,
    npm: NPM_VERSION,
    arch: nodeArch(),
    mmdebstrap: mmdebstrapArgs(suite),
    IMPORT_CHANGES,
  });
  const tag = `${BASE_REPOSITORY}:${node}-${suite}-${createHash('sha256').update(recipe).digest('hex').slice(0, 12)}`;
  const exists = await podman('image', 'exists', tag).then(
    () => true,
    () => false,
  );
  if (exists) return tag;

  const started = Date.now();
  log(`making ${tag}: Debian ${suite} (mmdebstrap), Node.js ${node}, npm ${NPM_VERSION}`);
  const downloads = path.join(IMAGES_DIR, 'downloads');
  const [binary, npm] = await Promise.all([nodeBinary(node), packed(`npm@${NPM_VERSION}`, downloads)]);
  await mkdir(IMAGES_DIR, { recursive: true });
  const work = await mkdtemp(path.join(IMAGES_DIR, '.base-'));
  try {
    const rootfs = path.join(work, 'rootfs.tar');
    await runCommand('mmdebstrap', [...mmdebstrapArgs(suite), rootfs], { NODE_BINARY: binary, NPM_TARBALL: npm });
    await podman('import', ...IMPORT_CHANGES.flatMap((change) => ['--change', change]), rootfs, tag);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  // Bases made from older inputs, and what was built on them, are of no further use.
  const { stdout } = await podman(
    'images',
    '--format',
    '{{.Repository}}:{{.Tag}}',
    '--filter',
    `reference=${BASE_REPOSITORY}`,
  );
  const stale = stdout.split('\n').filter((name) => name !== '' && name !== tag);
  if (stale.length > 0) await podman('rmi', '--force', ...stale);
  log(`made ${tag} in ${Math.round((Date.now() - started) / 1000)} s`);
  return tag;
}
