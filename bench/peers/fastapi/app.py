"""The benchmark's FastAPI peer: POST /events to Kafka the way FastAPI's and aiokafka's
documentation show it, answering 202 only after Kafka acknowledged every event of the request.

One event (a JSON object) or a batch (a JSON array of them), each checked by a pydantic model
and written as one record, its JSON the value. The producer is idempotent with acks="all", as
ours is. Run with uvicorn, one worker per core (startFastapi in bench/peers.ts starts it).
"""

import asyncio
import os
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from pydantic import BaseModel

TOPIC = os.environ["EVENTS_TOPIC"]
BROKERS = os.environ["KAFKA_BROKERS"]


class Event(BaseModel):
    type: str
    data: Any = None


producer: AIOKafkaProducer


@asynccontextmanager
async def lifespan(_: FastAPI):
    global producer
    producer = AIOKafkaProducer(bootstrap_servers=BROKERS, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        yield
    finally:
        await producer.stop()


app = FastAPI(lifespan=lifespan)


async def publish(events: list[Event]) -> None:
    # send() queues a record and returns its delivery future; every one is awaited.
    deliveries = [await producer.send(TOPIC, event.model_dump_json().encode()) for event in events]
    await asyncio.gather(*deliveries)


@app.post("/events", status_code=202)
async def post_events(body: Event | list[Event]) -> dict[str, int]:
    events = body if isinstance(body, list) else [body]
    await publish(events)
    return {"accepted": len(events)}


@app.get("/health/ready")
async def ready() -> dict[str, str]:
    return {"status": "ready"}
