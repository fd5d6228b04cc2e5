import { randomUUID } from 'node:crypto';
import { SPEC_VERSION, type CloudEvent } from '@event-pipeline/common';
import type { IncomingEvent } from './validate';

/** Completes a client's event into a CloudEvent: an id and a time when it has none. */
export function toCloudEvent(incoming: IncomingEvent, { source, now }: { source: string; now: Date }): CloudEvent {
  const event: CloudEvent = {
    specversion: SPEC_VERSION,
    id: incoming.id ?? randomUUID(),
    source: incoming.source ?? source,
    type: incoming.type,
    time: incoming.time ?? now.toISOString(),
  };
  if (incoming.subject !== undefined) event.subject = incoming.subject;
  if (incoming.data !== undefined) {
    event.datacontenttype = 'application/json';
    event.data = incoming.data;
  }
  return event;
}
