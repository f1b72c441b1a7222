"""The tasks stage on the runner, in a process that SIGKILLs itself on a marked record, once.

``python -m tests.integration.crashing_stage MARKER``: the first time the stage reads the record
whose provider reference is ``crash`` it creates ``MARKER`` and kills its own process, in the
middle of a batch, before any of that batch's offsets are committed; once ``MARKER`` exists it
processes everything. The fault suite runs it twice and checks that nothing after the crash was
lost (issue 11: "no commit past unprocessed input, ever").
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from streams.codecs import default_codec
from streams.events.model import Event
from streams.records.models import RecordReceived
from streams.runner import StageRunner
from streams.settings import Settings
from streams.stage import Stage, State
from streams.tasks.core import TaskConfig
from streams.tasks.stage import tasks_stage
from streams.worker import runner_config


def crashing(stage: Stage, marker: Path) -> Stage:
    def step(key: str, stored: Mapping[str, Any] | None,
             event: Event) -> tuple[State | None, list[Event]]:
        if isinstance(event, RecordReceived) and event.provider_ref == "crash" \
                and not marker.exists():
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        state, outputs = stage.step(key, stored, event)
        return state, list(outputs)

    return Stage(stage.name, stage.sources, step, stage.producer)


def main() -> None:
    settings = Settings.from_env()
    stage = crashing(tasks_stage(TaskConfig(instance="crash-test"), ()), Path(sys.argv[1]))
    runner = StageRunner(settings, default_codec(), [stage], runner_config(settings))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runner.run(stop)


if __name__ == "__main__":
    main()
