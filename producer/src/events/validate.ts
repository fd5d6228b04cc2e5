import { z } from 'zod';
import type { FieldError } from '../problem';
import { problems } from '../problem';

/**
 * One event as a client sends it in the plain JSON mode. Unknown members are refused rather
 * than dropped: nothing a client sends disappears silently.
 */
export const incomingEventSchema = z.strictObject({
  type: z.string().min(1).max(256),
  data: z.json().optional(),
  id: z.string().min(1).max(256).optional(),
  subject: z.string().min(1).max(1024).optional(),
  source: z.string().min(1).max(1024).optional(),
  time: z.iso.datetime({ offset: true, message: 'must be an RFC 3339 date-time' }).optional(),
});

export type IncomingEvent = z.output<typeof incomingEventSchema>;

function pointer(path: PropertyKey[]): string {
  return '/' + path.map((part) => String(part).replaceAll('~', '~0').replaceAll('/', '~1')).join('/');
}

/**
 * Validates a parsed body: one event object or a non-empty array of them. Every failing field
 * of every item is reported at once, so a client fixes its batch in one round trip.
 */
export function validateEvents(body: unknown, maxEvents: number): IncomingEvent[] {
  const isBatch = Array.isArray(body);
  if (!isBatch && (typeof body !== 'object' || body === null)) {
    throw problems.invalidEvent([{ pointer: '', message: 'the body must be an event object or an array of events' }]);
  }
  const items: unknown[] = isBatch ? body : [body];
  if (items.length === 0) throw problems.invalidEvent([{ pointer: '', message: 'the batch is empty' }]);
  if (items.length > maxEvents) {
    throw problems.invalidEvent([
      { pointer: '', message: `the batch has ${items.length} events; at most ${maxEvents} per request` },
    ]);
  }

  const errors: FieldError[] = [];
  const events: IncomingEvent[] = [];
  items.forEach((item, index) => {
    const result = incomingEventSchema.safeParse(item);
    if (result.success) {
      events.push(result.data);
      return;
    }
    for (const issue of result.error.issues) {
      const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0] ?? ''] : issue.path;
      errors.push({
        ...(isBatch ? { index } : {}),
        pointer: pointer(isBatch ? [index, ...path] : path),
        message: issue.message,
      });
    }
  });
  if (errors.length > 0) throw problems.invalidEvent(errors);
  return events;
}
