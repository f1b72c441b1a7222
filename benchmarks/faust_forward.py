"""A Faust agent that decodes, re-encodes and forwards events unchanged.

It measures Faust's per-message path with crowdlog's codec (DESIGN.md asks for this number
early), and the integration tests use it to prove the Faust app reads and writes crowdlog
events on the real broker. Run: ``python -m benchmarks.faust_forward SOURCE TARGET``.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from typing import Any

import faust
from faust.types import StreamT

from streams.app import create_app
from streams.settings import Settings


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


def main() -> None:
    source, target = sys.argv[1:3]
    sys.argv = [sys.argv[0], "worker", "--loglevel", "warn"]
    build(Settings.from_env(), source, target).main()


if __name__ == "__main__":
    main()
