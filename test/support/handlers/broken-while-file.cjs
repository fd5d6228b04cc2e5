// Fails while the file BROKEN_FILE exists ("fixing the handler" is removing it), except for
// `test.ok` events: `audit.recorded` events with a SchemaError that no retry can fix, the others
// retriably. Each event it handles has its id appended to the file PROCESSED_FILE.
const { appendFileSync, existsSync } = require('node:fs');

exports.createHandler = () => ({
  handle(event) {
    if (existsSync(process.env.BROKEN_FILE) && event.type !== 'test.ok') {
      if (event.type === 'audit.recorded') {
        const error = new Error('audit schema mismatch');
        error.name = 'SchemaError';
        error.retriable = false;
        throw error;
      }
      throw new Error('payment service unavailable');
    }
    appendFileSync(process.env.PROCESSED_FILE, event.id + '\n');
  },
});
