"""The process-wide codec: the schema store plus every event class in the topic catalogue.

``CROWDLOG_SCHEMA_REGISTRY_URL`` (read when a command builds its codec) switches writing to the
Confluent wire format through that registry; ``CROWDLOG_SCHEMA_REGISTRY_AUTH`` (``user:secret``)
authenticates to it. Reading accepts both framings either way.
"""

from __future__ import annotations

import os
from pathlib import Path

from streams.events.codec import Codec
from streams.events.registry import SchemaRegistry
from streams.events.schema_store import SchemaStore
from streams.topics import event_types


def default_codec(schema_dir: Path | None = None, registry_url: str | None = None) -> Codec:
    store = SchemaStore.load(schema_dir)
    url = registry_url or os.environ.get("CROWDLOG_SCHEMA_REGISTRY_URL")
    auth = os.environ.get("CROWDLOG_SCHEMA_REGISTRY_AUTH")
    registry = SchemaRegistry.connect(url, store, {"basic.auth.user.info": auth} if auth
                                      else None) if url else None
    return Codec(store, event_types(), registry)
