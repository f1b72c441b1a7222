"""`crowdlog crowd bridge`: the crowd bridge service on Mechanical Turk or the simulated crowd."""
# The command imports what it needs when it runs: `crowdlog --help` loads no Kafka or boto3.
# ruff: noqa: PLC0415

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from streams.settings import Settings


def crowd_bridge(args: argparse.Namespace, settings: Settings) -> int:
    from streams.codecs import default_codec
    from streams.crowd.bridge import BridgedPlatform, run_bridge

    platform: BridgedPlatform
    if args.platform == "mturk":
        from streams.crowd.mturk import MTurkConfig, MTurkPlatform, mturk_client
        from streams.crowd.notifications import sqs_client

        try:
            config = MTurkConfig.from_env()
        except (OSError, ValueError) as exc:
            print(f"crowdlog: {exc}", file=sys.stderr)
            return 2
        mturk = MTurkPlatform(mturk_client(config), config)
        if config.notify_queue_url:
            mturk.listen(sqs_client(config.notify_queue_url))
        platform = mturk
    else:
        if not args.world:
            print("crowdlog: --platform simulated needs --world DIR", file=sys.stderr)
            return 2
        from streams.crowd.simulated import SimulatedPlatform
        from streams.world.crowd import SimulatedCrowd
        from streams.world.files import load_world

        platform = SimulatedPlatform(SimulatedCrowd(load_world(Path(args.world)),
                                                    seed=args.seed), speed=args.speed)
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    instance = os.environ.get("CROWDLOG_GROUP_INSTANCE_ID")
    bridge = run_bridge(settings, default_codec(), platform, poll_interval=args.poll_seconds,
                        idle_timeout=args.idle_timeout,
                        group_instance_id=f"{instance}-bridge" if instance else None, stop=stop)
    report = bridge.report()
    print(f"bridge ({platform.name}): {report['hits_posted']} HITs posted, "
          f"{report['assignments_in']} assignments in, {report['unreadable']} unreadable, "
          f"{report['refused']} refused, {report['calls']} platform calls")
    return 0


def add_bridge_command(
        crowd_actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``crowd bridge`` beside ``crowd simulate``."""
    bridge = crowd_actions.add_parser(
        "bridge", help="move HITs out to a crowd platform and submissions back in")
    bridge.add_argument("--platform", choices=["mturk", "simulated"], required=True)
    bridge.add_argument("--poll-seconds", type=float, default=5.0,
                        help="seconds between two polls of the platform for submissions")
    bridge.add_argument("--idle-timeout", type=float,
                        help="stop after this many seconds without an event in or out")
    bridge.add_argument("--world", help="simulated: the world whose workers answer")
    bridge.add_argument("--speed", type=float, default=60.0,
                        help="simulated: simulated seconds per wall-clock second")
    bridge.add_argument("--seed", type=int, default=7, help="simulated: the crowd's seed")
    bridge.set_defaults(run=crowd_bridge)
