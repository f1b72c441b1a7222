"""The producer API for producer services: typed events in, Avro on Kafka, deliveries reported.

The underlying confluent-kafka producer is idempotent with ``acks=all``, so a retry inside the
client never duplicates or reorders a partition. The message key is the event's entity id, so
one entity's events stay ordered on one partition. Every delivery report reaches the caller's
callback; failures are also kept, and ``flush()``/``close()`` raise ``DeliveryFailed`` if any
event was not delivered, so a producer service cannot lose events without noticing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType

from confluent_kafka import KafkaError, Message

from streams.broker_calls import DELIVERY_PATIENCE
from streams.events.codec import Codec, peek_event_id
from streams.events.errors import CorruptEvent
from streams.events.model import Event
from streams.kafka import clients
from streams.settings import Settings
from streams.topics import CATALOGUE, TopicSpec, full_name, spec_for

# librdkafka's (and the broker's default) limit for one message. A stage checks what it is about
# to produce against ``MAX_EVENT_BYTES`` (the limit less room for the key and the record's own
# overhead) and dead-letters the input instead of producing an event the broker would refuse.
MAX_MESSAGE_BYTES = 1_000_000
MAX_EVENT_BYTES = MAX_MESSAGE_BYTES - 16 * 1024

PRODUCER_DEFAULTS = {
    "message.max.bytes": str(MAX_MESSAGE_BYTES),
    "enable.idempotence": "true",
    "acks": "all",
    "linger.ms": "5",
    "compression.type": "lz4",
    # The Java client's partitioner (aiokafka/Faust use it too): one entity's events land on the
    # same partition number in every topic, which co-partitioned stage agents rely on.
    "partitioner": "murmur2_random",
}


@dataclass(frozen=True, slots=True)
class Delivery:
    """The broker's answer for one event: where it landed, or why it did not."""

    event_id: str
    topic: str
    partition: int | None
    offset: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class DeliveryFailed(Exception):
    """Some events were not delivered (or not confirmed before the flush timeout)."""

    def __init__(self, failures: list[Delivery], undelivered: int = 0) -> None:
        detail = "; ".join(f"{d.event_id}: {d.error}" for d in failures[:5])
        super().__init__(
            f"{len(failures)} events failed, {undelivered} unconfirmed at flush. {detail}"
        )
        self.failures = failures
        self.undelivered = undelivered


DeliveryCallback = Callable[[Delivery], None]


class EventProducer:
    """Publishes typed events to their catalogue topics (or a topic you name).

    With ``on_delivery`` every delivery report reaches the callback. Without it librdkafka
    reports failures only (``delivery.report.only.error``), which keeps the per-event cost
    down; failures are kept either way and raised by ``flush()``.
    """

    def __init__(self, settings: Settings, codec: Codec, *,
                 catalogue: Iterable[TopicSpec] = CATALOGUE,
                 config: dict[str, str] | None = None,
                 on_delivery: DeliveryCallback | None = None) -> None:
        self._codec = codec
        self._prefix = settings.topic_prefix
        self._catalogue = tuple(catalogue)
        self._topics: dict[type[Event], str] = {}
        self._on_delivery = on_delivery
        self.failures: list[Delivery] = []
        reports = {} if on_delivery else {"delivery.report.only.error": True}
        self._producer = clients.producer(settings, {
            **PRODUCER_DEFAULTS, **reports, **(config or {}), "on_delivery": self._report,
        })

    def topic_of(self, event: Event) -> str:
        kind = type(event)
        if kind not in self._topics:
            self._topics[kind] = full_name(spec_for(kind, self._catalogue), self._prefix)
        return self._topics[kind]

    def send(self, event: Event, *, topic: str | None = None) -> None:
        """Queue ``event``; its delivery is reported asynchronously (served by later calls)."""
        topic = topic or self.topic_of(event)
        self.send_encoded(event.entity_id, self._codec.encode_for(event, topic), topic)

    def send_encoded(self, key: str, value: bytes, topic: str,
                     partition: int | None = None) -> None:
        """Queue an already encoded message (forwarded bytes, a stage's state); ``partition``
        overrides the key's partition (a state goes to its input's partition)."""
        while True:
            try:
                if partition is None:
                    self._producer.produce(topic, value=value, key=key)
                else:
                    self._producer.produce(topic, value=value, key=key, partition=partition)
                break
            except BufferError:
                self._producer.poll(0.1)  # local queue full: wait for deliveries, then retry
        self._producer.poll(0)

    def _report(self, err: KafkaError | None, msg: Message) -> None:
        event_id = _event_id(msg.value())
        topic = msg.topic() or ""
        if err is None:
            delivery = Delivery(event_id, topic, msg.partition(), msg.offset())
        else:
            delivery = Delivery(event_id, topic, None, None, error=str(err))
            self.failures.append(delivery)
        if self._on_delivery is not None:
            self._on_delivery(delivery)

    def poll(self, timeout: float = 0) -> None:
        """Serve delivery reports."""
        self._producer.poll(timeout)

    def flush(self, timeout: float = DELIVERY_PATIENCE) -> None:
        """Wait for every queued event; raise ``DeliveryFailed`` if any was not delivered.

        By default as long as librdkafka itself keeps trying (``DELIVERY_PATIENCE``): a broker
        away for a minute is waited out, not reported as a failure after a guess of 30 s."""
        undelivered = self._producer.flush(timeout)
        if undelivered or self.failures:
            raise DeliveryFailed(list(self.failures), undelivered)

    def close(self, timeout: float = DELIVERY_PATIENCE) -> None:
        self.flush(timeout)

    def __enter__(self) -> EventProducer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:  # do not hide the original error behind a flush failure
            self._producer.flush(5.0)


def _event_id(value: str | bytes | None) -> str:
    """The id of a reported message; empty for bytes that are not a crowdlog event."""
    if not isinstance(value, bytes):
        return ""
    try:
        return peek_event_id(value)
    except CorruptEvent:
        return ""
