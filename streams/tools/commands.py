"""`crowdlog lineage`, `crowdlog audit verify` and `crowdlog export`: reading the log as a whole.

Kept apart from ``streams.cli`` so the main command line stays an index; each command imports
what it needs when it runs, so `crowdlog --help` loads no Kafka client.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from streams.settings import Settings


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return number


def lineage(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.engine import make_url

    from streams.tools.audit import sqlite_file_missing
    from streams.tools.lineage_view import (
        SqlLineageSource,
        render_json,
        render_text,
        resolve,
        walk,
    )

    url = args.database_url or settings.database_url
    shown = make_url(url).render_as_string(hide_password=True)
    if sqlite_file_missing(url):
        print(f"error: no event index at {shown}: run `crowdlog sink event-index` first",
              file=sys.stderr)
        return 1
    engine = create_engine(url)
    try:
        if not inspect(engine).has_table("events"):
            print(f"error: {shown} has no event index: run `crowdlog sink event-index` first",
                  file=sys.stderr)
            return 1
        with engine.connect() as connection:
            source = SqlLineageSource(connection)
            roots = resolve(source, args.id)
            if not roots:
                print(f"error: {args.id} is neither an event id nor an entity id in the index",
                      file=sys.stderr)
                return 1
            graph = walk(source, roots, args.depth)
    finally:
        engine.dispose()
    print(json.dumps(render_json(graph), indent=2) if args.json else render_text(graph))
    return 0


def audit(args: argparse.Namespace, settings: Settings) -> int:
    from confluent_kafka import KafkaException

    from streams.codecs import default_codec
    from streams.tools.audit import verify

    try:
        report = verify(settings, default_codec(), database_url=args.database_url,
                        idle_timeout=args.idle_timeout)
    except KafkaException as exc:
        print(f"error: cannot read the log from {settings.bootstrap_servers}: {exc}",
              file=sys.stderr)
        return 2
    print("\n".join(report.lines()))
    return 0 if report.clean else 1


def export(args: argparse.Namespace, settings: Settings) -> int:
    from confluent_kafka import KafkaException

    from streams.codecs import default_codec
    from streams.tools.export import UnknownTopic, export_topic

    try:
        report = export_topic(settings, default_codec(), args.topic, Path(args.file),
                              avro_codec=args.codec, idle_timeout=args.idle_timeout)
    except UnknownTopic as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KafkaException as exc:
        print(f"error: cannot read the log from {settings.bootstrap_servers}: {exc}",
              file=sys.stderr)
        return 2
    for where, reason in report.skipped:
        print(f"skipped {where}: {reason}", file=sys.stderr)
    if report.skipped:
        print(f"error: {len(report.skipped)} messages of {report.topic} skipped, listed above; "
              "the file holds every other event", file=sys.stderr)
    for partition in report.incomplete:
        print(f"error: {partition} went idle before its end offset", file=sys.stderr)
    print(f"exported {report.exported} events of {report.topic} to {report.path}")
    return 1 if report.skipped or report.incomplete else 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``lineage``, ``audit verify`` and ``export``."""
    view = commands.add_parser(
        "lineage", help="ancestors, descendants and retractions of an event or an entity")
    view.add_argument("id", help="an event id, or an entity id (all of its events)")
    view.add_argument("--json", action="store_true",
                      help='print {"roots", "nodes", "edges"} as JSON instead of a tree')
    view.add_argument("--database-url", help="the event index (default: CROWDLOG_DATABASE_URL)")
    view.add_argument("--depth", type=_non_negative,
                      help="levels to follow each way (default: all)")
    view.set_defaults(run=lineage)

    check = commands.add_parser(
        "audit", help="check the log: schemas known, parents present, nothing live retracted")
    check.add_argument("action", choices=["verify"])
    check.add_argument("--database-url",
                       help="also check its current-state views (default: "
                       "CROWDLOG_DATABASE_URL; skipped when it has no event index)")
    check.add_argument("--idle-timeout", type=float, default=10.0,
                       help="seconds a partition may stay silent before its end (default 10)")
    check.set_defaults(run=audit)

    out = commands.add_parser("export", help="write a topic to an Avro object container file")
    out.add_argument("--topic", required=True,
                     help="catalogue topic, e.g. records.received (the full name works too)")
    out.add_argument("file", help="the .avro file to write")
    out.add_argument("--codec", choices=["null", "deflate"], default="null",
                     help="block compression (default: null)")
    out.add_argument("--idle-timeout", type=float, default=10.0,
                     help="seconds a partition may stay silent before its end (default 10)")
    out.set_defaults(run=export)
