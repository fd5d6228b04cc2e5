// Takes DELAY_MS per event, plus DELAY_STEP_MS for each step of its offset modulo 7 (uneven, so
// that the events of a batch finish out of order), then logs it: 'event processed' with its id,
// partition and offset. The log is the record a test reads of what a process it killed finished.
const { setTimeout: sleep } = require('node:timers/promises');

const delayMs = Number(process.env.DELAY_MS ?? 0);
const stepMs = Number(process.env.DELAY_STEP_MS ?? 0);

exports.createHandler = ({ logger }) => ({
  async handle(event, context) {
    const offset = Number(context.offset);
    await sleep(delayMs + (offset % 7) * stepMs);
    logger.info({ event_id: event.id, p: context.partition, o: offset }, 'event processed');
  },
});
