/*
 * The incubating OpenTelemetry semantic conventions our spans use, copied from
 * @opentelemetry/semantic-conventions 1.45.0 (`/incubating`): that entry point may change them in a
 * minor version, and the package asks that they be copied rather than imported. The stable names
 * (`http.*`, `url.*`, `server.*`, `error.type`) are imported from the package itself.
 * https://github.com/open-telemetry/opentelemetry-js/tree/main/semantic-conventions#unstable-semconv
 */

/** The messaging system as the client sees it. */
export const ATTR_MESSAGING_SYSTEM = 'messaging.system' as const;

/** The kind of messaging operation (`send`, `process`, ...). */
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type' as const;

/** The system-specific name of the messaging operation. */
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name' as const;

/** The topic. */
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name' as const;

/** The partition, as a string. */
export const ATTR_MESSAGING_DESTINATION_PARTITION_ID = 'messaging.destination.partition.id' as const;

/** The record's key; not set when it has none. */
export const ATTR_MESSAGING_KAFKA_MESSAGE_KEY = 'messaging.kafka.message.key' as const;

/** The record's offset in its partition. */
export const ATTR_MESSAGING_KAFKA_OFFSET = 'messaging.kafka.offset' as const;

/** The message's id (here the CloudEvent's `id`). */
export const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id' as const;

/** The number of messages of a batch operation; not set for a single message. */
export const ATTR_MESSAGING_BATCH_MESSAGE_COUNT = 'messaging.batch.message_count' as const;

/** `messaging.system` of Kafka. */
export const MESSAGING_SYSTEM_VALUE_KAFKA = 'kafka' as const;

/** `messaging.operation.type` of a send. */
export const MESSAGING_OPERATION_TYPE_VALUE_SEND = 'send' as const;

/** `messaging.operation.type` of processing a message. */
export const MESSAGING_OPERATION_TYPE_VALUE_PROCESS = 'process' as const;
