"""Produce prediction requests (and, with --outcomes, their labelled outcomes) to RiskStream
from Python: confluent-kafka's AvroSerializer against the registry's Confluent-compatible API.

    python3 -m venv .venv && .venv/bin/pip install "confluent-kafka[avro]"
    TOPIC_PREFIX= .venv/bin/python docs/clients/produce.py --count 100 --outcomes

Settings come from the same environment variables RiskStream reads: KAFKA_BROKERS (or
KAFKA_BOOTSTRAP_SERVERS), SCHEMA_REGISTRY_URL, TOPIC_PREFIX. It prints one JSON line at the end:
{"requests": N, "outcomes": M, "requestIds": [...]}.
"""

import argparse
import json
import os
import random
import sys
import time
import uuid
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext, StringSerializer

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
BROKERS = os.environ.get("KAFKA_BROKERS") or os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or "127.0.0.1:9092"
REGISTRY = os.environ.get("SCHEMA_REGISTRY_URL") or "http://127.0.0.1:8081/apis/ccompat/v7"
PREFIX = os.environ.get("TOPIC_PREFIX", "")
REQUESTS = f"{PREFIX}clinical.prediction-requests"
OUTCOMES = f"{PREFIX}clinical.outcomes"


def serializer(registry: SchemaRegistryClient, schema_file: str) -> AvroSerializer:
    # The subject is <topic>-value (the default topic name strategy). `riskstream setup`
    # registers the contracts; the client does not register its own copy, it writes with the
    # version the registry holds (use.latest.version) and fails if there is none.
    return AvroSerializer(
        registry,
        (SCHEMAS / schema_file).read_text(encoding="utf-8"),
        conf={"auto.register.schemas": False, "use.latest.version": True},
    )


def request(request_id: str, now_ms: int, rng: random.Random) -> dict:
    # Event times are epoch milliseconds (timestamp-millis) within the allowed skew of now:
    # at most EVENT_TIME_MAX_AGE_MS old (1 year) and EVENT_TIME_MAX_AHEAD_MS ahead (5 min).
    # Features inside the bounds of docs/contracts.md; None = not measured (never 0).
    return {
        "requestId": request_id,
        "patientId": f"p-{uuid.uuid4().hex[:12]}",
        "eventTime": now_ms,
        "sourceSystem": "python-example",
        "pregnancies": float(rng.randint(0, 8)),
        "glucose": float(rng.randint(70, 190)),
        "bloodPressure": float(rng.randint(55, 95)),
        "skinThickness": None if rng.random() < 0.2 else float(rng.randint(10, 45)),
        "insulin": None if rng.random() < 0.4 else float(rng.randint(20, 300)),
        "bmi": round(rng.uniform(19.0, 45.0), 1),
        "diabetesPedigreeFunction": round(rng.uniform(0.08, 1.5), 3),
        "age": float(rng.randint(21, 80)),
        "notes": None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--outcomes", action="store_true", help="also send a labelled outcome per request")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()

    # A bounded request: an unanswered registry call fails here instead of hanging the producer.
    registry = SchemaRegistryClient({"url": REGISTRY, "timeout": 10})
    value_of_request = serializer(registry, "PredictionRequest.avsc")
    value_of_outcome = serializer(registry, "OutcomeLabel.avsc")
    key_of = StringSerializer("utf_8")
    # Idempotent producer, all in-sync replicas: a retried send is never written twice.
    producer = Producer({"bootstrap.servers": BROKERS, "enable.idempotence": True, "acks": "all"})

    failures: list[str] = []

    def delivered(err, msg) -> None:
        if err is not None:
            failures.append(f"{msg.topic()}: {err}")

    rng = random.Random(args.seed)
    ids: list[str] = []
    for _ in range(args.count):
        request_id = str(uuid.uuid4())
        now_ms = int(time.time() * 1000)
        producer.produce(
            REQUESTS,
            # The key is the requestId: a request, its prediction and its outcome share a partition.
            key=key_of(request_id),
            value=value_of_request(request(request_id, now_ms, rng), SerializationContext(REQUESTS, MessageField.VALUE)),
            on_delivery=delivered,
        )
        if args.outcomes:
            outcome = {"requestId": request_id, "outcome": rng.randint(0, 1), "labelledAt": now_ms, "source": "python-example"}
            producer.produce(
                OUTCOMES,
                key=key_of(request_id),
                value=value_of_outcome(outcome, SerializationContext(OUTCOMES, MessageField.VALUE)),
                on_delivery=delivered,
            )
        producer.poll(0)
        ids.append(request_id)
    remaining = producer.flush(30)
    if remaining or failures:
        print(f"not delivered: {remaining} still queued, {len(failures)} failed: {failures[:3]}", file=sys.stderr)
        return 1
    print(json.dumps({"requests": len(ids), "outcomes": len(ids) if args.outcomes else 0, "requestIds": ids}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
