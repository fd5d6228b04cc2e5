"""An independent reader of the events topic: Confluent's Python client and its AvroDeserializer
against the same registry. Prints one JSON line per Avro record: its event id and decoded data.

usage: avro_reader.py <brokers> <topic> <registry url> <records to read> <timeout seconds>
"""
import json
import sys
import time
import uuid

from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext


def main() -> int:
    brokers, topic, registry_url, wanted, timeout = sys.argv[1:6]
    deserialize = AvroDeserializer(SchemaRegistryClient({"url": registry_url}))
    consumer = Consumer(
        {
            "bootstrap.servers": brokers,
            "group.id": f"python-reader-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    deadline = time.monotonic() + float(timeout)
    read = 0
    try:
        while read < int(wanted) and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            headers = {name: value.decode() for name, value in (message.headers() or [])}
            if headers.get("content-type") != "application/avro":
                continue
            data = deserialize(message.value(), SerializationContext(topic, MessageField.VALUE))
            print(json.dumps({"id": headers.get("ce_id"), "data": data}), flush=True)
            read += 1
    finally:
        consumer.close()
    return 0 if read >= int(wanted) else 1


if __name__ == "__main__":
    sys.exit(main())
