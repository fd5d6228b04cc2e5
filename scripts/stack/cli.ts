// npm run stack:up / stack:down / stack:status: the whole stack without Docker (see stack.ts).
//   up [--consumers N]  starts what is not running, in order, each ready before the next (and
//                       stops consumers beyond N)
//   down                stops everything, services first (they drain), Kafka's data kept
import path from 'node:path';
import { parseArgs } from 'node:util';
import { defaultLayout, stackDown, stackParts, stackUp, strayParts, STACK_DIR } from './stack';

const USAGE = 'usage: cli.ts up [--consumers N] | down | status';

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { consumers: { type: 'string' } },
  });
  const layout = defaultLayout();
  if (values.consumers !== undefined) {
    const consumers = Number(values.consumers);
    if (!Number.isInteger(consumers) || consumers < 1 || consumers > 16) {
      throw new Error(`--consumers must be a whole number from 1 to 16, got "${values.consumers}"`);
    }
    layout.consumers = consumers;
  }
  const parts = stackParts(layout);
  switch (positionals[0]) {
    case 'up':
      // Fewer consumers than an earlier `up --consumers N` started: the extra ones go.
      for (const stray of strayParts(layout, parts)) {
        await stray.down();
        process.stderr.write(`stack: ${stray.name} stopped\n`);
      }
      await stackUp(parts, (part, ms) =>
        process.stderr.write(`stack: ${part.name} ready at ${part.url} (${(ms / 1000).toFixed(1)} s)\n`),
      );
      process.stderr.write(
        `stack: up; logs in ${path.relative(process.cwd(), STACK_DIR)}/*.log and .cache/kafka/run/\n`,
      );
      return;
    case 'down':
      // Consumers started by an earlier `up --consumers N` go too.
      await stackDown([...parts, ...strayParts(layout, parts)], (part) =>
        process.stderr.write(`stack: ${part.name} stopped\n`),
      );
      return;
    case 'status':
      for (const part of [...parts, ...strayParts(layout, parts)]) {
        process.stdout.write(
          `${part.name.padEnd(14)} ${(await part.running()) ? 'running' : 'stopped'}  ${part.url}\n`,
        );
      }
      return;
    default:
      throw new Error(USAGE);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`stack: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
