"""`crowdlog replay`: rebuild the event index and its current views from the log.

Kept apart from ``streams.tools.replay`` so that `crowdlog --help` loads no Kafka client or
SQLAlchemy: the command imports them only when it runs.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from streams.settings import Settings


def instant(value: str) -> datetime:
    """An ISO 8601 time; one without an offset is taken as UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import create_engine

    from sinks.checksum import checksum
    from streams.codecs import default_codec
    from streams.tools.replay import ReplayError, TargetNotEmpty, replay

    try:
        report = replay(settings, default_codec(), args.into, since=args.since)
    except TargetNotEmpty as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ReplayError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("\n".join(report.lines()))
    if args.checksum:
        engine = create_engine(args.into)
        try:
            print(f"checksum {checksum(engine)}")
        finally:
            engine.dispose()
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``replay``."""
    parser = commands.add_parser(
        "replay", help="rebuild the event index and current views from the log",
        description="Read every catalogue topic up to the end offsets seen at the start and "
                    "index it into an empty database, with the sink's own code.")
    parser.add_argument("--into", required=True, metavar="DATABASE_URL",
                        help="an empty database (SQLAlchemy URL), e.g. sqlite:///rebuilt.db")
    parser.add_argument("--from", dest="since", type=instant, metavar="TIME",
                        help="start each partition at its first message timestamped at or after "
                             "this ISO 8601 time (UTC unless it has an offset)")
    parser.add_argument("--checksum", action="store_true",
                        help="print `checksum <sha256>` of the rebuilt index and views")
    parser.set_defaults(run=run)
