// The `dlq` command: consumer/bin/dlq.js runs it with the telemetry bootstrap preloaded.
import { errorMessage, flushTelemetry } from '@event-pipeline/common';
import { EXIT, runDlq, type Io } from './main';
import { printableOutput } from './printable';

const io: Io = {
  out: (text) => process.stdout.write(`${printableOutput(text)}\n`),
  err: (text) => process.stderr.write(`${printableOutput(text)}\n`),
  progress: process.stderr.isTTY ? (text) => process.stderr.write(text) : undefined,
};

runDlq(process.argv.slice(2), process.env, io)
  .catch((error: unknown) => {
    io.err(`dlq: failed: ${errorMessage(error)}`);
    return EXIT.failed;
  })
  .then(async (code) => {
    // The redrive spans must reach the trace backend before the process ends.
    await flushTelemetry().catch(() => undefined);
    process.exitCode = code;
    process.exit(code);
  });
