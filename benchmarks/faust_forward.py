"""A Faust agent that decodes, re-encodes and forwards events unchanged.

The baseline a Python user would pick instead of crowdlog's stage runner: Faust's per-message
path with crowdlog's codec. Run: ``python -m benchmarks.faust_forward SOURCE TARGET``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import faust
from faust.serializers import codecs
from faust.types import StreamT

from streams.codecs import default_codec
from streams.events.codec import Codec
from streams.events.model import Event
from streams.settings import Settings, state_dir

ROOT = Path(__file__).resolve().parents[1]  # so ``-m benchmarks.faust_forward`` resolves


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
            raise TypeError(f"crowdlog-avro encodes crowdlog events, not {type(obj).__name__}")
        return self._codec.encode(obj)

    def _loads(self, s: bytes) -> Any:
        return self._codec.decode(s)


def build(settings: Settings, source: str, target: str) -> faust.App:
    codecs.register("crowdlog-avro", FaustAvroCodec(codec=default_codec()))
    datadir = state_dir() / "faust" / f"{settings.topic_prefix}forward"
    datadir.parent.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    app = faust.App(f"{settings.topic_prefix}forward", datadir=str(datadir),
                    broker=[f"kafka://{s}" for s in settings.bootstrap_servers.split(",")],
                    value_serializer="crowdlog-avro", key_serializer="raw",
                    processing_guarantee="at_least_once", producer_acks=-1, web_enabled=False)
    source_topic = app.topic(source)
    target_topic = app.topic(target)

    @app.agent(source_topic)
    async def forward(stream: StreamT[Any]) -> AsyncIterator[None]:
        async for event in stream.events():
            await target_topic.send(key=event.key, value=event.value)
            yield None

    return app


@contextmanager
def running(settings: Settings, source: str, target: str, state_dir: Path,
            log: IO[bytes] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """The forwarder as a worker process for the duration of the block, then stopped.

    ``state_dir`` holds the worker's Faust data directory.
    """
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
           "CROWDLOG_TOPIC_PREFIX": settings.topic_prefix, "CROWDLOG_STATE_DIR": str(state_dir)}
    worker = subprocess.Popen([sys.executable, "-m", "benchmarks.faust_forward", source, target],
                              cwd=ROOT, env=env, stdout=log or subprocess.DEVNULL,
                              stderr=subprocess.STDOUT)
    try:
        yield worker
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def main() -> None:
    source, target = sys.argv[1:3]
    sys.argv = [sys.argv[0], "worker", "--loglevel", "warn"]
    build(Settings.from_env(), source, target).main()


if __name__ == "__main__":
    main()
