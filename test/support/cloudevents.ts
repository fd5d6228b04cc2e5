/** A record as the CloudEvents SDK's Kafka binding takes it (`Kafka.toEvent`): its own KafkaMessage shape. */
export function sdkKafkaMessage<R extends { key: unknown; value: unknown; headers: unknown; timestamp: unknown }>(
  record: R,
): { key: R['key']; value: R['value']; headers: R['headers']; timestamp: R['timestamp']; body: R['value'] } {
  return {
    key: record.key,
    value: record.value,
    headers: record.headers,
    timestamp: record.timestamp,
    body: record.value,
  };
}
