// npm run tools -- ensure [name ...]: builds the Go programs the tests and the stack run, once.
import { ensureGoTool, GO_TOOLS, type GoToolName } from './go-tools';

async function main([command, ...names]: string[]): Promise<void> {
  if (command !== 'ensure') throw new Error(`usage: cli.ts ensure [${Object.keys(GO_TOOLS).join(' | ')} ...]`);
  const wanted = (names.length > 0 ? names : Object.keys(GO_TOOLS)) as GoToolName[];
  for (const name of wanted) {
    if (!(name in GO_TOOLS)) throw new Error(`no tool '${name}'; known: ${Object.keys(GO_TOOLS).join(', ')}`);
    process.stdout.write(`${await ensureGoTool(name)}\n`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`tools: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
