"""`crowdlog ...`: the command line for producers, operators and auditors."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from streams import logs
from streams.console.commands import add_commands as add_console_commands
from streams.events.errors import RegistryUnavailable, SchemaRefused
from streams.lineage.commands import add_commands as add_lineage_commands
from streams.prediction.commands import add_commands as add_prediction_commands
from streams.settings import AuthenticationFailed, Settings
from streams.simulation.commands import add_commands
from streams.tools.commands import add_commands as add_tool_commands
from streams.tools.replay_command import add_commands as add_replay_commands


def _topics(args: argparse.Namespace, settings: Settings) -> int:
    from streams.admin import create_topics
    from streams.topics import CATALOGUE, full_name

    if args.action == "list":
        for spec in CATALOGUE:
            kinds = ", ".join(cls.schema_name for cls in spec.event_types)
            print(f"{full_name(spec, settings.topic_prefix):<30} {spec.partitions:>3}  {kinds}")
        return 0
    for status in create_topics(settings):
        print(f"{status.name:<30} {status.status}")
    return 0


def _schemas(args: argparse.Namespace, settings: Settings) -> int:
    from streams.events.errors import SchemaStoreError
    from streams.events.schema_store import SchemaStore

    store = SchemaStore.load()
    if args.action == "publish":
        try:
            written = store.publish()
        except SchemaStoreError as exc:
            print(exc, file=sys.stderr)
            return 1
        for version in written:
            print(f"published {version.name} v{version.version} {version.fingerprint.hex()}")
        return 0
    unpublished = store.unpublished()
    for name in store.names():
        marks = " (unpublished changes)" if name in unpublished else ""
        versions = ", ".join(f"v{v.version}={v.fingerprint.hex()}" for v in store.versions(name))
        print(f"{name}: {versions or 'never published'}{marks}")
    problems = _registry_check(settings) if args.action == "check" else 0
    return 1 if args.action == "check" and (unpublished or problems) else 0


def _registry_check(settings: Settings) -> int:
    """With a registry configured: each catalogue subject against the local store; problems."""
    from streams.codecs import default_codec
    from streams.topics import CATALOGUE, full_name

    codec = default_codec()
    if codec.registry is None:
        return 0
    problems = 0
    for spec in CATALOGUE:
        topic = full_name(spec, settings.topic_prefix)
        for event_type in spec.event_types:
            try:
                status = codec.registry.compare(topic, codec.store.current(event_type.schema_name))
            except RegistryUnavailable as exc:
                print(f"crowdlog: {exc}", file=sys.stderr)
                return 1
            problems += status.startswith("PROBLEM")
            print(f"registry {topic}-{event_type.schema_name}: {status}")
    return problems


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 2: the file cannot be read; 1: events were not delivered; 0 otherwise, rejected
    rows included (they are dead-lettered and counted by reason)."""
    from confluent_kafka import KafkaException

    from streams.codecs import default_codec
    from streams.producer import DeliveryFailed, EventProducer
    from streams.records.core import valid_provider
    from streams.records.files import UnreadableFile, detect_format
    from streams.records.ingest import run_ingest

    if not valid_provider(args.provider):
        print(f"invalid provider name {args.provider!r}: use lower-case letters, digits, _.-",
              file=sys.stderr)
        return 2
    path = Path(args.file)
    try:
        fmt = args.format or detect_format(path)
        producer = EventProducer(settings, default_codec())
        summary = run_ingest(path, provider=args.provider, fmt=fmt, producer=producer,
                             instance=settings.instance,
                             progress=not args.no_progress and sys.stderr.isatty())
    except UnreadableFile as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (DeliveryFailed, KafkaException) as exc:  # KafkaException: refused when queued
        print(f"error: not every event reached Kafka: {exc}", file=sys.stderr)
        return 1
    print("\n".join(summary.lines()))
    return 0


def _sink(args: argparse.Namespace, settings: Settings) -> int:
    from sinks.outage import EXIT_DATABASE_UNAVAILABLE, DatabaseUnavailable
    from sinks.runner import run_event_index
    from streams.codecs import default_codec

    try:
        report = run_event_index(settings, default_codec(), database_url=args.database_url,
                                 idle_timeout=args.idle_timeout)
    except DatabaseUnavailable:  # already logged, in one line
        return EXIT_DATABASE_UNAVAILABLE
    print(f"indexed {report.stored} new events ({report.consumed} consumed, "
          f"{report.dead_lettered} undecodable and {report.refused} refused by the database, "
          f"both dead-lettered) in {report.batches} batches")
    return 0


def _index(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import create_engine

    from sinks.report import summarise

    engine = create_engine(args.database_url or settings.database_url)
    try:
        print("\n".join(summarise(engine, latest=args.latest).lines()))
    finally:
        engine.dispose()
    return 0


def _tail(args: argparse.Namespace, settings: Settings) -> int:
    from streams.codecs import default_codec
    from streams.consumer import EventConsumer
    from streams.tools.log_reader import skipped

    group = args.group or f"crowdlog.tail.{settings.instance}"
    with EventConsumer(settings, default_codec(), [args.topic], group, on_undecodable=skipped,
                       from_beginning=args.from_beginning) as consumer:
        for consumed in consumer.events(idle_timeout=args.idle_timeout):
            line: dict[str, Any] = {
                "topic": consumed.topic, "partition": consumed.partition,
                "offset": consumed.offset, **consumed.event.to_avro(),
            }
            print(json.dumps(line, default=str), flush=True)
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from streams.codecs import default_codec
    from streams.pipeline import PipelineConfig
    from streams.worker import run_worker

    if args.loglevel:
        logs.configure(settings.log_format, args.loglevel)
    return run_worker(settings, default_codec(), PipelineConfig.from_env(settings.instance))


def _version() -> str:
    try:
        return version("crowdlog")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crowdlog", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)

    topics = commands.add_parser("topics", help="list or create the catalogue's topics")
    topics.add_argument("action", choices=["create", "list"])
    topics.set_defaults(run=_topics)

    schemas = commands.add_parser("schemas", help="list, check or publish event schemas")
    schemas.add_argument("action", choices=["list", "check", "publish"])
    schemas.set_defaults(run=_schemas)

    ingest = commands.add_parser("ingest", help="publish a provider file (CSV or JSON Lines)")
    ingest.add_argument("file")
    ingest.add_argument("--provider", required=True, help="provider name, e.g. acme-sports")
    ingest.add_argument("--format", choices=["csv", "jsonl"], help="default: from the suffix")
    ingest.add_argument("--no-progress", action="store_true", help="no progress bar")
    ingest.set_defaults(run=_ingest)

    sink = commands.add_parser("sink", help="run the event index sink into SQL")
    sink.add_argument("name", choices=["event-index"])
    sink.add_argument("--database-url", help="default: CROWDLOG_DATABASE_URL")
    sink.add_argument("--idle-timeout", type=float,
                      help="stop after this many seconds without events (default: run on)")
    sink.set_defaults(run=_sink)

    index = commands.add_parser("index", help="summarise what the event index holds")
    index.add_argument("action", choices=["summary"])
    index.add_argument("--database-url", help="default: CROWDLOG_DATABASE_URL")
    index.add_argument("--latest", type=int, default=5, help="how many records to show")
    index.set_defaults(run=_index)

    tail = commands.add_parser("tail", help="print a topic's events as JSON lines")
    tail.add_argument("topic", help="full topic name, e.g. records.received")
    tail.add_argument("--from-beginning", action="store_true")
    tail.add_argument("--group", help="consumer group (default: one per process)")
    tail.add_argument("--idle-timeout", type=float, help="stop after this many idle seconds")
    tail.set_defaults(run=_tail)

    worker = commands.add_parser("worker", help="run the crowd stages (and enrichment)")
    worker.add_argument("--loglevel", help="default: CROWDLOG_LOG_LEVEL")
    worker.set_defaults(run=_worker)
    add_commands(commands)
    add_tool_commands(commands)
    add_prediction_commands(commands)
    add_lineage_commands(commands)
    add_replay_commands(commands)
    add_console_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Exit 2, with one line and no traceback, when the settings cannot work
    (a variable out of range, a credential file missing) or the Kafka cluster refuses them: an
    operator's fix, which no restart or retry would make (``--help`` works either way)."""
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"crowdlog: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_format, settings.log_level)
    try:
        code: int = args.run(args, settings)
    except AuthenticationFailed as exc:
        print(f"crowdlog: {exc}", file=sys.stderr)
        return 2
    except (RegistryUnavailable, SchemaRefused) as exc:  # fix the registry or the schema
        print(f"crowdlog: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
