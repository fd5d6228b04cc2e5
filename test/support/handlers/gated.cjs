// Holds each event while the file GATE_FILE exists: a test creates it to keep the group back and
// removes it to let the events go. The wait ends with the attempt (its abort signal).
const { existsSync } = require('node:fs');
const { setTimeout: sleep } = require('node:timers/promises');

exports.createHandler = () => ({
  async handle(_event, { signal }) {
    while (existsSync(process.env.GATE_FILE)) await sleep(50, undefined, { signal });
  },
});
