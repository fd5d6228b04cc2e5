// Fails every attempt at a `test.failing` event (its retries and dead letter show in the trace),
// calls WEBHOOK_URL for a `test.webhook` event (an outgoing request inside the processing span),
// and logs each event it finished: 'event processed' with its id.
exports.createHandler = ({ logger }) => ({
  async handle(event) {
    if (event.type === 'test.failing') throw new Error('the handler failed on purpose');
    if (event.type === 'test.webhook') await fetch(process.env.WEBHOOK_URL, { method: 'POST' });
    logger.info({ event_id: event.id }, 'event processed');
  },
});
