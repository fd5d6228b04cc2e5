// docker-compose.yml read as data (anchors and merge keys resolved, variables left as written),
// for the tests that check it against the local stack and against itself.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const COMPOSE_FILE = path.join(REPO_ROOT, 'docker-compose.yml');

export interface ComposeService {
  image?: string;
  command?: string[];
  entrypoint?: string[];
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  environment?: Record<string, string | number>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  deploy?: { resources?: { limits?: { memory?: string } } };
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

export function readCompose(): ComposeFile {
  return parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as ComposeFile;
}

/** A short-syntax port, `[host_ip:]published:target`, with `${VAR:-default}` in the host ip kept. */
export interface PublishedPort {
  hostIp: string;
  published: number;
  target: number;
}

export function publishedPorts(service: ComposeService): PublishedPort[] {
  return (service.ports ?? []).map((spec) => {
    const match = /^(?:(.+):)?(\d+):(\d+)$/.exec(spec);
    if (!match) throw new Error(`unexpected port syntax: ${spec}`);
    return { hostIp: match[1] ?? '', published: Number(match[2]), target: Number(match[3]) };
  });
}

/** A bind mount's source, relative to the repository root (`./observability/x` -> `observability/x`). */
export function bindSources(service: ComposeService): string[] {
  return (service.volumes ?? [])
    .map((volume) => volume.split(':')[0]!)
    .filter((source) => source.startsWith('./'))
    .map((source) => path.posix.normalize(source));
}

/** Every `${NAME:-default}` the file interpolates, by name. */
export function composeDefaults(): Map<string, Set<string>> {
  const defaults = new Map<string, Set<string>>();
  for (const [, name, value] of readFileSync(COMPOSE_FILE, 'utf8').matchAll(/\$\{(\w+):-([^}]*)\}/g)) {
    defaults.set(name!, (defaults.get(name!) ?? new Set()).add(value!));
  }
  return defaults;
}
