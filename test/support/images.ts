// Our images, built from the Dockerfile and run with podman, on the base scripts/tools/node-image.ts
// makes (no Docker engine runs on these machines).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ensureNodeImage, log, MACHINE_CA, podman } from '../../scripts/tools/node-image';
import { DOCKERFILE } from './dockerfile';

const ROOT = path.resolve(__dirname, '..', '..');

export type Service = 'producer' | 'consumer';

/** compose's name for a service's image. */
export function imageName(service: Service): string {
  return `localhost/event-pipeline-${service}`;
}

/**
 * Builds a service's image as compose does (the repository root as context, the service's
 * target), on the base scripts/tools/node-image.ts makes, with podman's build cache. Docker's image format, or
 * HEALTHCHECK would be dropped; the host's network, so that `npm ci` reaches the registry.
 */
export async function buildImage(service: Service): Promise<string> {
  const base = await ensureNodeImage();
  const ca = existsSync(MACHINE_CA) ? ['--volume', `${MACHINE_CA}:${MACHINE_CA}:ro`] : [];
  const started = Date.now();
  await podman(
    ...['build', '--format', 'docker', '--network', 'host', '--pull=never', '--layers'],
    ...['--file', DOCKERFILE, '--target', service, '--build-arg', `NODE_IMAGE=${base}`],
    ...ca,
    ...['--tag', imageName(service), ROOT],
  );
  log(`built ${imageName(service)} in ${Math.round((Date.now() - started) / 1000)} s`);
  return imageName(service);
}

/** An image's size in bytes, as `podman image inspect` reports it. */
export async function imageSize(image: string): Promise<number> {
  const { stdout } = await podman('image', 'inspect', '--format', '{{.Size}}', image);
  return Number(stdout.trim());
}

/** What the chart asks of a pod, asked of a container: a read-only root with a small /tmp, no capabilities. */
const RESTRICTED = [
  ...['--read-only', '--read-only-tmpfs=false', '--tmpfs', '/tmp:rw,size=64m,mode=1777'],
  ...['--cap-drop=ALL', '--security-opt=no-new-privileges'],
];

export interface Container {
  readonly name: string;
  /** Everything it wrote so far. */
  logs(): Promise<string>;
  /** running, exited, ... */
  status(): Promise<string>;
  /** Waits for it to end and answers its exit code. */
  exitCode(): Promise<number>;
  remove(): Promise<void>;
}

/**
 * Starts `image` in the background, on the host's network (so it reaches the test's broker on
 * localhost), restricted as the chart runs it, with its own command unless `command` is given.
 */
export async function runContainer(
  image: string,
  name: string,
  env: Record<string, string>,
  command: string[] = [],
): Promise<Container> {
  const variables = Object.entries(env).flatMap(([key, value]) => ['--env', `${key}=${value}`]);
  await podman('run', '--detach', '--name', name, '--network', 'host', ...RESTRICTED, ...variables, image, ...command);
  return {
    name,
    logs: async () => {
      const { stdout, stderr } = await podman('logs', name);
      return stdout + stderr;
    },
    status: async () => (await podman('inspect', '--format', '{{.State.Status}}', name)).stdout.trim(),
    exitCode: async () => Number((await podman('wait', name)).stdout.trim()),
    remove: async () => {
      await podman('rm', '--force', '--time', '0', '--ignore', name);
    },
  };
}

/** Runs `image` once to completion, restricted and on the host's network as above. */
export async function runOnce(
  image: string,
  env: Record<string, string>,
  command: string[],
): Promise<{ code: number; output: string }> {
  const variables = Object.entries(env).flatMap(([key, value]) => ['--env', `${key}=${value}`]);
  return podman('run', '--rm', '--network', 'host', ...RESTRICTED, ...variables, image, ...command).then(
    ({ stdout }) => ({ code: 0, output: stdout }),
    (error: Error & { code?: unknown }) => ({ code: Number(error.code), output: error.message }),
  );
}
