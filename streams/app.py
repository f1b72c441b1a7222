"""The one Faust app, configured from the environment, with crowdlog's Avro codec registered.

Nothing happens at import: ``create_app()`` builds the app when a command needs it, and
``streams.pipeline.attach_stages`` registers the stage agents (``streams/<domain>/agents.py``)
on it; their logic lives in the pure cores, and the agents only decode, call and send.

Faust's own exactly-once mode is not used (see DESIGN.md): at-least-once processing with
deterministic event ids makes duplicates harmless.
"""

from __future__ import annotations

import os
from typing import Any

import faust
from faust.serializers import codecs
from mode.utils.times import want_seconds

from streams.admin import TopicRequest
from streams.codecs import default_codec
from streams.events.codec import Codec
from streams.events.model import Event
from streams.logs import logging_config
from streams.settings import Settings, state_dir

CODEC_NAME = "crowdlog-avro"


class FaustAvroCodec(codecs.Codec):
    """Faust codec: typed crowdlog events <-> Avro single-object encoded bytes."""

    def __init__(self, children: tuple[Any, ...] | None = None, *,
                 codec: Codec, **kwargs: Any) -> None:
        super().__init__(children, codec=codec, **kwargs)
        self._codec = codec

    def _dumps(self, obj: Any) -> bytes:
        if isinstance(obj, bytes):  # already encoded (forwarded unchanged)
            return obj
        if not isinstance(obj, Event):
            raise TypeError(f"{CODEC_NAME} encodes crowdlog events, not {type(obj).__name__}")
        return self._codec.encode(obj)

    def _loads(self, s: bytes) -> Any:
        return self._codec.decode(s)


def register_codec(codec: Codec) -> None:
    """Make ``value_serializer="crowdlog-avro"`` mean this codec in the current process."""
    codecs.register(CODEC_NAME, FaustAvroCodec(codec=codec))


def create_app(settings: Settings | None = None, codec: Codec | None = None) -> faust.App:
    """Build the Faust app, without agents (``streams.pipeline.attach_stages`` adds them)."""
    settings = settings or Settings.from_env()
    register_codec(codec or default_codec())
    brokers = [f"kafka://{server}" for server in settings.bootstrap_servers.split(",")]
    app_id = f"{settings.topic_prefix}crowdlog"
    datadir = state_dir() / "faust" / app_id
    datadir.parent.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    return faust.App(
        app_id,
        datadir=str(datadir),
        broker=brokers,
        value_serializer=CODEC_NAME,
        key_serializer="raw",
        processing_guarantee="at_least_once",
        # Committed offsets are how the crowd simulator (and operators) see the stages' lag.
        broker_commit_interval=float(os.environ.get("CROWDLOG_COMMIT_INTERVAL", "1.0")),
        producer_acks=-1,
        topic_replication_factor=int(os.environ.get("CROWDLOG_REPLICATION_FACTOR", "1")),
        topic_allow_declare=True,
        store="memory://",  # tables recover from their changelog topics on restart
        web_enabled=os.environ.get("CROWDLOG_WEB_ENABLED", "false") == "true",
        web_port=int(os.environ.get("CROWDLOG_WEB_PORT", "6066")),
        logging_config=logging_config(settings.log_format, settings.log_level),
    )


def table_topics(app: faust.App) -> list[TopicRequest]:
    """The changelog topics of the app's tables, configured as Faust would declare them.

    The worker creates them, and waits until they are whole, before Faust starts: see
    ``streams.admin``.
    """
    requests = []
    for table in app.tables.values():
        topic = table.changelog_topic
        config = {key: str(value) for key, value in (topic.config or {}).items()}
        cleanup = [policy for policy, wanted in (("compact", topic.compacting),
                                                 ("delete", topic.deleting)) if wanted]
        if cleanup:
            config["cleanup.policy"] = ",".join(cleanup)
        if topic.retention:
            config["retention.ms"] = str(int(want_seconds(topic.retention) * 1000))
        requests.append(TopicRequest(topic.get_topic_name(),
                                     topic.partitions or app.conf.topic_partitions, config))
    return requests
