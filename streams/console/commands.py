"""`crowdlog console`: serve the console over the event index with uvicorn.

Read-only unless both an operator is named (``--operator``) and ``CROWDLOG_CONSOLE_WRITE=1`` is
set: two separate acts, so a console started by habit or from an old script cannot write. Even
then the console writes only to the log (a ``RedactionRequested``, through the producer
``crowdlog redact`` uses), never to the index, whose connections are read-only.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from streams.settings import Settings

if TYPE_CHECKING:
    from streams.console.app import ConsoleConfig
    from streams.lineage.models import RedactionRequested

WRITE_ENV = "CROWDLOG_CONSOLE_WRITE"


def config_from(args: argparse.Namespace, settings: Settings,
                environ: dict[str, str] | None = None) -> ConsoleConfig:
    """The console's configuration: a publisher only with an operator and the write switch.

    >>> import argparse
    >>> config_from(argparse.Namespace(operator="ann"), Settings(), {}).writable
    False
    """
    from streams.console.app import ConsoleConfig  # noqa: PLC0415 - Starlette when run

    env = dict(os.environ) if environ is None else environ
    if not (args.operator and env.get(WRITE_ENV) == "1"):
        return ConsoleConfig(settings, operator=args.operator)

    def publish(request: RedactionRequested) -> None:
        from streams.codecs import default_codec  # noqa: PLC0415 - Kafka only when writing
        from streams.producer import EventProducer  # noqa: PLC0415

        producer = EventProducer(settings, default_codec())
        try:
            producer.send(request)
        finally:
            producer.close()

    return ConsoleConfig(settings, operator=args.operator, publish=publish)


def console(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn  # noqa: PLC0415 - the server loads only when the console runs
    from sqlalchemy import create_engine  # noqa: PLC0415

    from streams.console.app import create_app, read_only_engine  # noqa: PLC0415

    config = config_from(args, settings)
    if args.operator and not config.writable:
        print(f"console: operator {args.operator} named but {WRITE_ENV} is not 1: read-only",
              file=sys.stderr)
    engine = read_only_engine(create_engine(args.database or settings.database_url))
    try:
        uvicorn.run(create_app(engine, config), host=args.host, port=args.port,
                    log_level="warning")
    finally:
        engine.dispose()
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``console``."""
    parser = commands.add_parser("console", help="web pages over the event index for auditors "
                                 "and operators (read-only unless told otherwise)")
    parser.add_argument("--database", help="the event index (default: CROWDLOG_DATABASE_URL)")
    parser.add_argument("--port", type=int, default=8400, help="default: 8400")
    parser.add_argument("--host", default="127.0.0.1",
                        help="default: 127.0.0.1 (the console has no login of its own)")
    parser.add_argument("--operator", help=f"who submits redactions (needs {WRITE_ENV}=1)")
    parser.set_defaults(run=console)
