"""Settings from the environment, read when a command starts (never at import)."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.logs import kafka_logger

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_DATABASE_URL = "sqlite:///crowdlog.db"


def state_dir() -> Path:
    """Where this process keeps local state (Faust's data, model snapshots): CROWDLOG_STATE_DIR."""
    return Path(os.environ.get("CROWDLOG_STATE_DIR", ".state"))


@dataclass(frozen=True)
class Settings:
    """Where the cluster and database are, and how this process names itself.

    ``topic_prefix`` namespaces every catalogue topic (``<prefix>records.received``) so that
    tests, demos and tenants can share one cluster without seeing each other's events.
    """

    bootstrap_servers: str = DEFAULT_BOOTSTRAP
    database_url: str = DEFAULT_DATABASE_URL
    topic_prefix: str = ""
    instance: str = "crowdlog"
    log_format: str = "auto"  # "json", "console" or "auto" (console on a terminal)
    log_level: str = "info"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS") or DEFAULT_BOOTSTRAP,
            database_url=env.get("CROWDLOG_DATABASE_URL") or DEFAULT_DATABASE_URL,
            topic_prefix=env.get("CROWDLOG_TOPIC_PREFIX", ""),
            instance=env.get("CROWDLOG_INSTANCE") or f"{socket.gethostname()}-{os.getpid()}",
            log_format=env.get("CROWDLOG_LOG_FORMAT", "auto"),
            log_level=env.get("CROWDLOG_LOG_LEVEL", "info"),
        )

    def kafka_config(self) -> dict[str, Any]:
        """Client settings shared by every Kafka client of this process.

        librdkafka's own log lines go through Python logging (see ``streams.logs``) instead of
        raw ``%4|...`` lines on stderr.
        """
        return {"bootstrap.servers": self.bootstrap_servers, "client.id": self.instance,
                "logger": kafka_logger()}
