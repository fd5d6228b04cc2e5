// npm run stack:up / stack:down / stack:status: the whole stack without Docker (see stack.ts).
//   up       starts what is not running, in order, each ready before the next
//   down     stops everything, services first (they drain), Kafka's data kept
import path from 'node:path';
import { stackDown, stackParts, stackUp, STACK_DIR } from './stack';

const USAGE = 'usage: cli.ts up | down | status';

async function main([command]: string[]): Promise<void> {
  const parts = stackParts();
  switch (command) {
    case 'up':
      await stackUp(parts, (part, ms) =>
        process.stderr.write(`stack: ${part.name} ready at ${part.url} (${(ms / 1000).toFixed(1)} s)\n`),
      );
      process.stderr.write(
        `stack: up; logs in ${path.relative(process.cwd(), STACK_DIR)}/*.log and .cache/kafka/run/\n`,
      );
      return;
    case 'down':
      await stackDown(parts, (part) => process.stderr.write(`stack: ${part.name} stopped\n`));
      return;
    case 'status':
      for (const part of parts) {
        process.stdout.write(
          `${part.name.padEnd(10)} ${(await part.running()) ? 'running' : 'stopped'}  ${part.url}\n`,
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
