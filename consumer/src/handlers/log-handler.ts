import type { Logger } from '@event-pipeline/common';
import type { EventHandler } from '../handler';

/** The default handler: one structured log line per event, so a new install shows its flow. */
export function createLogHandler({ logger }: { logger: Logger }): EventHandler {
  const log = logger.child({ component: 'handler' });
  return {
    handle(event, context) {
      log.info(
        {
          event_id: event.id,
          event_type: event.type,
          subject: event.subject,
          source: event.source,
          partition: context.partition,
          offset: context.offset,
          latency_ms: Date.now() - context.acceptedAt,
        },
        'event processed',
      );
    },
  };
}
