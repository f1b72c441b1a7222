"""A Faust agent that decodes, re-encodes and forwards events unchanged.

It measures Faust's per-message path with crowdlog's codec (DESIGN.md asks for this number
early), and the integration tests use it to prove the Faust app reads and writes crowdlog
events on the real broker. Run: ``python -m benchmarks.faust_forward SOURCE TARGET``.
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
from faust.types import StreamT

from streams.app import create_app
from streams.settings import Settings

ROOT = Path(__file__).resolve().parents[1]  # so ``-m benchmarks.faust_forward`` resolves


def build(settings: Settings, source: str, target: str) -> faust.App:
    app = create_app(settings)
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
