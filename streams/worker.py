"""``crowdlog worker``: the crowd stages (and enrichment, with platforms) on the stage runner.

Before the first message: the catalogue topics and the stages' changelogs exist with every
partition led (a topic with another partition count than wanted stops the worker, exit 2: keys
would meet the wrong state), and the worker-quality view has read the log as it stood (so
consensus weighs workers as it will after any restart). SIGTERM or SIGINT finish the batch in
hand, commit it and leave the group, so the other workers take over at once; a worker that dies
(SIGKILL, a failed delivery) is replaced after the group's session timeout and its uncommitted
input is read again.

Variables, beside those of ``streams.pipeline``:

``CROWDLOG_SESSION_TIMEOUT``     seconds before the group gives a silent worker's partitions
                                 to the others (default 10)
``CROWDLOG_GROUP_INSTANCE_ID``   a stable name per worker (a pod name): a restart with the same
                                 name takes its partitions back at once, no rebalance
``CROWDLOG_BATCH_SIZE``          messages per batch (default 500)
"""

from __future__ import annotations

import os
import signal
import threading
from contextlib import ExitStack

import structlog

from streams.admin import TopicMismatch, catalogue_requests, ensure_topics
from streams.enrichment.stage import FetchLoop
from streams.events.codec import Codec
from streams.pipeline import PipelineConfig, crowd_stages, view_group
from streams.producer import EventProducer
from streams.runner import RunnerConfig, StageRunner
from streams.settings import Settings
from streams.workers.view import QualityView

log = structlog.get_logger(__name__)

VIEW_READY_TIMEOUT = 300.0


def runner_config(settings: Settings) -> RunnerConfig:
    env = os.environ
    return RunnerConfig(group_id=f"{settings.topic_prefix}crowdlog",
                        batch_size=int(env.get("CROWDLOG_BATCH_SIZE", "500")),
                        session_timeout=settings.session_timeout,
                        group_instance_id=env.get("CROWDLOG_GROUP_INSTANCE_ID") or None)


def run_worker(settings: Settings, codec: Codec, config: PipelineConfig,
               stop: threading.Event | None = None) -> int:
    """Run until ``stop`` (or SIGTERM/SIGINT); the process's exit code."""
    stop = stop or _stop_on_signals()
    view = QualityView(settings, codec, position_group=view_group(settings))
    with ExitStack() as stack:
        fetches = None
        if config.platforms is not None:
            fetched = stack.enter_context(EventProducer(settings, codec))
            fetches = stack.enter_context(
                FetchLoop(config.platforms.clients(), config.enrichment, fetched.send))
        runner = StageRunner(settings, codec, crowd_stages(config, view, fetches=fetches),
                             runner_config(settings))
        try:
            ensure_topics(settings, catalogue_requests(settings))
            view.start()
            stack.callback(view.stop)
            if not view.wait_ready(VIEW_READY_TIMEOUT):
                log.error("the worker-quality view did not catch up",
                          seconds=VIEW_READY_TIMEOUT)
                return 1
            log.info("worker started", stages=[s.name for s in runner.stages],
                     group=runner_config(settings).group_id)
            runner.run(stop)
        except (TopicMismatch, TimeoutError) as exc:
            log.error("topics not as the stages need them", error=str(exc))
            return 2
        log.info("worker stopped", **vars(runner.report))
    return 0


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log.info("stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    return stop
