"""The Faust app on the real broker: an agent reads crowdlog events and writes them back."""

from __future__ import annotations

from pathlib import Path

from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from benchmarks.faust_forward import running
from streams.consumer import EventConsumer
from streams.events.codec import Codec
from streams.producer import EventProducer
from streams.settings import Settings
from streams.topics import RECORDS_RECEIVED, full_name
from tests.factories import record


def test_faust_agent_decodes_and_forwards_events(settings: Settings, codec: Codec,
                                                 tmp_path: Path) -> None:
    source = full_name(RECORDS_RECEIVED, settings.topic_prefix)
    target = f"{settings.topic_prefix}forwarded"
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    admin.create_topics([NewTopic(target, num_partitions=3, replication_factor=1)])[target].result()
    sent = [record(ref=str(i)) for i in range(200)]
    with EventProducer(settings, codec) as producer:
        for event in sent:
            producer.send(event)

    with (
        (tmp_path / "worker.log").open("wb") as log,
        running(settings, source, target, tmp_path / "state", log),
        EventConsumer(settings, codec, [target], f"{settings.topic_prefix}check") as out,
    ):
        forwarded = {}
        for consumed in out.events(idle_timeout=60):
            forwarded[consumed.event.event_id] = consumed
            if len(forwarded) == len(sent):
                break
    assert len(forwarded) == len(sent), (tmp_path / "worker.log").read_text()[-3000:]
    for event in sent:
        arrived = forwarded[event.event_id]
        assert arrived.event == event
        assert arrived.key == event.entity_id.encode()
