// Appends each event's id to the file PROCESSED_FILE, synchronously, before the worker commits:
// a SIGKILL cannot lose the record of an event it processed. DELAY_MS (if set) per event first.
const { appendFileSync } = require('node:fs');
const { setTimeout: sleep } = require('node:timers/promises');

const delayMs = Number(process.env.DELAY_MS ?? 0);

exports.createHandler = () => ({
  async handle(event) {
    if (delayMs > 0) await sleep(delayMs);
    appendFileSync(process.env.PROCESSED_FILE, event.id + '\n');
  },
});
