"""`crowdlog redact` and `crowdlog propagate`: ask for a redaction, and run the lineage stage.

``redact --dry-run`` previews the impact on the event index database with the very core the
lineage stage runs, and writes nothing; without ``--dry-run`` the request is published to
``lineage.redactions`` (and the same preview printed, when an index is available).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from datetime import UTC, datetime

from streams.lineage.core import STAGE, STAGE_VERSION, LineageConfig
from streams.lineage.models import RedactionRequested
from streams.lineage.selection import Selection
from streams.settings import Settings
from streams.tools.replay_command import instant


def request_from_args(args: argparse.Namespace, settings: Settings,
                      now: datetime) -> RedactionRequested:
    """The request the arguments describe; raises ValueError when they select nothing."""
    from streams.events.ids import new_meta
    from streams.events.model import Producer, Provenance

    version_min = args.version or args.version_min
    version_max = args.version or args.version_max
    selection = Selection(frozenset(args.event or ()), args.stage, version_min, version_max,
                          args.worker, args.source, args.occurred_from, args.occurred_to)
    if args.version and (args.version_min or args.version_max):
        raise ValueError("give --version, or --version-min/--version-max, not both")
    criteria = [sorted(selection.event_ids), selection.stage, version_min, version_max,
                selection.worker_id, selection.source, selection.occurred_from,
                selection.occurred_to]
    meta = new_meta(event_type=RedactionRequested.schema_name, entity_id="lineage",
                    occurred_at=now, producer=Producer(STAGE, STAGE_VERSION, settings.instance),
                    provenance=Provenance("operator", args.by),
                    identity=[criteria, args.reason, args.by, now])
    return RedactionRequested(
        meta=meta, event_ids=sorted(selection.event_ids), stage=selection.stage,
        stage_version_min=version_min, stage_version_max=version_max,
        worker_id=selection.worker_id, source=selection.source,
        occurred_from=selection.occurred_from, occurred_to=selection.occurred_to,
        reason=args.reason, requested_by=args.by)


def redact(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import create_engine, inspect

    from streams.lineage.core import observe
    from streams.lineage.impact import Impact
    from streams.lineage.index_graph import load_state
    from streams.lineage.models import EventRetracted

    try:
        request = request_from_args(args, settings, datetime.now(UTC))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    engine = create_engine(args.database_url or settings.database_url)
    try:
        indexed = inspect(engine).has_table("events")
        state = load_state(engine) if indexed else None
    finally:
        engine.dispose()
    impact = None
    if state is not None:
        outputs = observe(state, request, LineageConfig(instance=settings.instance))
        impact = Impact.of((o for o in outputs if isinstance(o, EventRetracted)), state.graph)
    if args.dry_run and impact is None:
        print("error: no event index to preview on (run `crowdlog sink event-index`)",
              file=sys.stderr)
        return 2
    if not args.dry_run:
        from streams.codecs import default_codec
        from streams.producer import EventProducer

        producer = EventProducer(settings, default_codec())
        producer.send(request)
        producer.close()
    if args.json:
        print(json.dumps({"redaction_id": request.event_id, "dry_run": args.dry_run,
                          "impact": impact.as_dict() if impact else None}, sort_keys=True))
        return 0
    print(("dry run: nothing written; " if args.dry_run else "redaction requested: ")
          + request.event_id)
    for line in impact.lines() if impact else ["(no event index: impact not previewed)"]:
        print(line)
    return 0


def propagate(args: argparse.Namespace, settings: Settings) -> int:
    from streams.codecs import default_codec
    from streams.lineage.service import run_lineage_service

    block_redacts = args.block_redacts or os.environ.get("CROWDLOG_BLOCK_REDACTS") == "1"
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda _number, _frame: stop.set())
    report = run_lineage_service(
        settings, default_codec(),
        LineageConfig(block_redacts=block_redacts, instance=settings.instance),
        idle_timeout=args.idle_timeout, stop=stop)
    print(f"lineage: {report.events} events read, {report.redactions} redactions, "
          f"{report.retractions} retractions published ({report.preloaded} already on the log)")
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``redact`` and ``propagate``."""
    request = commands.add_parser("redact", help="retract events and everything derived from "
                                  "them (preview with --dry-run)")
    request.add_argument("--event", action="append", help="an event id (repeatable)")
    request.add_argument("--stage", help="events produced by this stage")
    request.add_argument("--version", help="exactly this stage version")
    request.add_argument("--version-min", help="stage versions from this one (inclusive)")
    request.add_argument("--version-max", help="stage versions up to this one (inclusive)")
    request.add_argument("--worker", help="this crowd worker's answers")
    request.add_argument("--source", help="events with this provenance source")
    request.add_argument("--from", dest="occurred_from", type=instant,
                         help="events that occurred at or after this ISO time")
    request.add_argument("--to", dest="occurred_to", type=instant,
                         help="events that occurred before this ISO time")
    request.add_argument("--reason", required=True)
    request.add_argument("--by", required=True, help="who asks")
    request.add_argument("--dry-run", action="store_true",
                         help="report the impact from the event index, write nothing")
    request.add_argument("--json", action="store_true")
    request.add_argument("--database-url", help="the event index (default: CROWDLOG_DATABASE_URL)")
    request.set_defaults(run=redact)
    service = commands.add_parser("propagate", help="run the lineage stage: redactions become "
                                  "retractions of every descendant")
    service.add_argument("--block-redacts", action="store_true",
                         help="blocking a worker redacts their answers "
                         "(or CROWDLOG_BLOCK_REDACTS=1)")
    service.add_argument("--idle-timeout", type=float,
                         help="stop after this many seconds without events (default: run on)")
    service.set_defaults(run=propagate)
