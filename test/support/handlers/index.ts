import path from 'node:path';

/**
 * The handler modules that consumer processes in the tests run with (HANDLER_MODULE): each a
 * file here, configured by environment variables (GATE_FILE, PROCESSED_FILE, ...), which its
 * opening comment names.
 */
export type TestHandler = 'gated' | 'logging' | 'processed-file' | 'broken-while-file' | 'failing-or-webhook';

/** The absolute path of a test handler module, for HANDLER_MODULE. */
export function handlerModule(name: TestHandler): string {
  return path.join(__dirname, `${name}.cjs`);
}

/** What the `logging` handler logged in `output`: each event it finished, in order. */
export function loggedEvents(output: string): Array<{ id: string; partition: number; offset: number }> {
  return [...output.matchAll(/"event_id":"([^"]+)","p":(\d+),"o":(\d+)[^\n]*"msg":"event processed"/g)].map(
    (match) => ({ id: match[1]!, partition: Number(match[2]), offset: Number(match[3]) }),
  );
}
