import { readFileSync } from 'node:fs';
import path from 'node:path';
import { defaultNodeImage } from '../../scripts/tools/node-image';
import { dockerfileInstructions, dockerfileStage, dockerfileStages } from '../support/dockerfile';

const root = path.resolve(__dirname, '../..');
const lines = dockerfileInstructions();
const stages = dockerfileStages();

const IMAGES = [
  { service: 'producer', port: 8080, portVariable: 'PORT' },
  { service: 'consumer', port: 9464, portVariable: 'METRICS_PORT' },
] as const;

describe('Dockerfile', () => {
  it('compiles every workspace once, in a build stage both images share', () => {
    const build = dockerfileStage('build');
    expect(build.lines).toContain('RUN npx tsc -b observability producer consumer');
    for (const { service } of IMAGES) {
      const copies = dockerfileStage(service).lines.filter((line) => line.startsWith('COPY --from='));
      expect(copies.length).toBeGreaterThan(0);
      for (const copy of copies) expect(copy).toMatch(/^COPY --from=build /);
    }
  });

  // Issue 29: every install ran each package's install script, needed or not.
  it('installs with npm ci --ignore-scripts in every stage', () => {
    const installs = lines.filter((line) => /^RUN .*\bnpm (ci|install|i)\b/.test(line));
    expect(installs.length).toBeGreaterThanOrEqual(3);
    for (const install of installs) expect(install).toMatch(/\bnpm ci --(omit=dev --)?ignore-scripts\b/);
  });

  // The image test's base (scripts/tools/node-image.ts) mirrors the default with that very binary.
  it('defaults to the Node.js release scripts/with-node.sh brings', () => {
    const brought = /node_version="\$\{PIPELINE_NODE_VERSION:-([\d.]+)\}"/.exec(
      readFileSync(path.join(root, 'scripts', 'with-node.sh'), 'utf8'),
    )?.[1];
    expect(brought).toBeDefined();
    expect(defaultNodeImage().node).toBe(brought);
  });

  it('pins its base image by version', () => {
    const defaults = Object.fromEntries(
      lines
        .filter((line) => /^ARG\s+\w+=/.test(line))
        .map((line) => line.replace(/^ARG\s+/, '').split('=') as [string, string]),
    );
    expect(stages.length).toBeGreaterThanOrEqual(3);
    for (const stage of stages) {
      const image = stage.from.replace(/^\$\{(\w+)\}$/, (_, name: string) => defaults[name] ?? '');
      expect(image).toMatch(/^node:\d+\.\d+\.\d+-[a-z]+-slim$/);
    }
  });
});

describe.each(IMAGES)('Dockerfile, target $service', ({ service, port, portVariable }) => {
  // The stage `--target <service>` ships.
  const finalStage = dockerfileStage(service).lines;
  const last = (pattern: RegExp): number => finalStage.findLastIndex((line) => pattern.test(line));

  it('ships production dependencies of its own workspace only, and compiled code', () => {
    expect(
      finalStage.some((line) => line.startsWith('RUN npm ci --omit=dev ') && line.includes(`--workspace ${service}`)),
    ).toBe(true);
    // Only compiled code comes over from the build stage, and KafkaJS as patched there; never the
    // rest of its node_modules.
    for (const copy of finalStage.filter((line) => line.startsWith('COPY --from='))) {
      expect(copy).toMatch(/\/dist |^COPY --from=build \/app\/node_modules\/kafkajs node_modules\/kafkajs$/);
    }
  });

  it('takes KafkaJS from the build stage, where patch-package applied patches/', () => {
    expect(dockerfileStage('build').lines).toContain('RUN npx patch-package --error-on-fail');
    expect(finalStage).toContain('COPY --from=build /app/node_modules/kafkajs node_modules/kafkajs');
  });

  it('runs the final stage as a non-root user, set before the command', () => {
    const userAt = last(/^USER\s/i);
    expect(userAt).toBeGreaterThanOrEqual(0);
    const user = finalStage[userAt]!.split(/\s+/)[1]!.split(':')[0]!;
    expect(['root', '0']).not.toContain(user);
    expect(last(/^(CMD|ENTRYPOINT)\s/i)).toBeGreaterThan(userAt);
  });

  it('checks its health with Node itself, on the port its config reads', () => {
    const healthcheck = finalStage[last(/^HEALTHCHECK\s/i)]!;
    expect(healthcheck).toContain('CMD ["node", "-e"');
    expect(healthcheck).not.toMatch(/curl|wget/);
    expect(healthcheck).toContain(`process.env.${portVariable} || ${port}`);
    expect(finalStage).toContain(`EXPOSE ${port}`);
  });

  it('preloads the telemetry bootstrap, as `npm start` does', () => {
    const cmd = finalStage[last(/^CMD\s/i)]!;
    const start = (
      JSON.parse(readFileSync(path.join(root, service, 'package.json'), 'utf8')) as {
        scripts: { start: string };
      }
    ).scripts.start;
    // npm start runs `node <flags> dist/main.js` through scripts/with-node.sh.
    const startArgs = start.slice(start.indexOf(' node ') + 1).split(' ');
    expect(JSON.parse(cmd.replace(/^CMD\s+/, ''))).toEqual(startArgs);
    expect(startArgs).toContain('@event-pipeline/observability/register');
  });
});

// The images skip install scripts because none of theirs is needed. A package that brings a new
// one fails here, so that someone reads its script and says here whether the images need it.
describe('the install scripts in the lock file', () => {
  const NOT_NEEDED: Record<string, string> = {
    'node_modules/protobufjs': 'production: only warns when a dependent names it with another version scheme',
    'node_modules/@swc/core': 'development (jest): checks its native binding, which an optional package brings',
    'node_modules/esbuild': 'development (tsx): checks its binary, which an optional package brings',
    'node_modules/@parcel/watcher': 'development (jest): builds from source only where no prebuilt package fits',
  };

  it('are only the ones whose need is known', () => {
    const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { hasInstallScript?: boolean }>;
    };
    const withScripts = Object.entries(lock.packages)
      .filter(([, entry]) => entry.hasInstallScript)
      .map(([name]) => name)
      .sort();
    expect(withScripts).toEqual(Object.keys(NOT_NEEDED).sort());
  });
});
