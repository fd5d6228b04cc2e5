import type { Logger } from '@event-pipeline/common';
import type { EventHandler } from '../handler';

/** The default handler: one structured log line per event, so a new install shows its flow. */
export function createLogHandler({ logger }: { logger: Logger }): EventHandler {
  const log = logger.child({ component: 'handler' });
  return {
    handle(event, context) {
      // Below the log level (the bench runs at warn): no line to build, per event.
      if (!log.isLevelEnabled('info')) return;
      log.info(
        {
          event_id: event.id,
          event_type: event.type,
          subject: event.subject,
          source: event.source,
          partition: context.partition,
          offset: context.offset,
          latency_ms: Date.now() - context.acceptedAt,
          // The decoded Avro data's schema and fields, not its values: logs hold no user data.
          ...(context.dataSchema
            ? {
                schema_id: context.dataSchema.id,
                schema_version: context.dataSchema.version,
                data_fields: dataFields(event.data),
              }
            : {}),
        },
        'event processed',
      );
    },
  };
}

function dataFields(data: unknown): string[] | undefined {
  return typeof data === 'object' && data !== null && !Array.isArray(data) ? Object.keys(data) : undefined;
}
