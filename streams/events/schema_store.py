"""The schema store: every event schema, current and historical, without a registry server.

Authors write schemas under ``streams/schemas/<domain>/*.avsc`` and may refer to named types
defined in other files (every event refers to ``crowdlog.common.EventMeta``). An *event schema* is a
top-level record whose first field is ``meta``.

Each event schema that was ever used to write events is kept, expanded and self-contained,
under ``streams/schemas/published/<full name>/v<N>.avsc``. The store maps the CRC-64-AVRO
fingerprint of each published version to its schema, so any historical event decodes with schema
resolution. The current source schema of an event must be its latest published version: writing
with an unpublished schema would produce events that later readers cannot look up.
``publish()`` adds a new version after checking that the new schema reads every earlier one
(BACKWARD_TRANSITIVE).

The schemas are package data of ``streams``: a wheel carries them, and ``importlib.resources``
finds them wherever ``streams`` is imported from, a checkout's source tree (where ``publish()``
writes, for review and commit) or an installed wheel.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, cast

from fastavro.schema import UnknownType, parse_schema

from streams.events.compatibility import incompatibilities
from streams.events.errors import SchemaStoreError, UnknownFingerprint
from streams.events.fingerprint import canonical_form, crc64_avro, header

PUBLISHED_DIR = "published"


def default_schema_dir() -> Path:
    """``CROWDLOG_SCHEMA_DIR``, else the ``schemas`` directory of the ``streams`` package."""
    configured = os.environ.get("CROWDLOG_SCHEMA_DIR")
    if configured:
        return Path(configured)
    packaged = files("streams") / "schemas"
    if not isinstance(packaged, Path):  # imported from a zip file: rglob and publish need files
        raise SchemaStoreError(f"crowdlog must be installed as files to read its schemas "
                               f"({packaged}), or set CROWDLOG_SCHEMA_DIR")
    return packaged


@dataclass(frozen=True)
class SchemaVersion:
    """One published version of an event schema, ready for fastavro."""

    name: str
    version: int
    schema: dict[str, Any] = field(repr=False)
    fingerprint: bytes
    parsed: Any = field(repr=False, compare=False)

    @property
    def header(self) -> bytes:
        return header(self.fingerprint)

    @classmethod
    def of(cls, schema: dict[str, Any], version: int) -> SchemaVersion:
        return cls(
            name=schema["name"],
            version=version,
            schema=schema,
            fingerprint=crc64_avro(canonical_form(schema)),
            parsed=parse_schema(schema),
        )


def _is_event(schema: dict[str, Any]) -> bool:
    fields = schema.get("fields") or []
    return schema.get("type") == "record" and bool(fields) and fields[0]["name"] == "meta"


def _check_event_shape(expanded: dict[str, Any]) -> None:
    """Events start with meta, and meta with the event_id string: ``peek_event_id`` relies on it."""
    meta = expanded["fields"][0]["type"]
    first = meta.get("fields", [{}])[0] if isinstance(meta, dict) else {}
    if first.get("name") != "event_id" or first.get("type") != "string":
        raise SchemaStoreError(f"{expanded['name']}: meta must start with event_id (a string)")


def _expand_sources(sources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Parse source schemas in dependency order; return the expanded event schemas by name."""
    named: dict[str, Any] = {}
    pending = list(sources)
    parsed: list[dict[str, Any]] = []
    while pending:
        progress: list[dict[str, Any]] = []
        for source in pending:
            try:
                parse_schema(source, named, _write_hint=False)
            except UnknownType:
                continue
            progress.append(source)
        if not progress:
            names = [s.get("name") for s in pending]
            raise SchemaStoreError(f"unresolvable named references in schemas {names}")
        parsed += progress
        pending = [s for s in pending if s not in progress]
    events: dict[str, dict[str, Any]] = {}
    for source in parsed:
        if _is_event(source):
            expanded = cast(dict[str, Any], parse_schema(source, dict(named), expand=True,
                                                         _write_hint=False))
            _check_event_shape(expanded)
            events[expanded["name"]] = expanded
    return events


def _load_json(path: Path) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SchemaStoreError(f"cannot read schema {path}: {exc}") from exc
    return loaded


class SchemaStore:
    """Current and historical event schemas, looked up by name or fingerprint."""

    def __init__(self, root: Path, current: dict[str, dict[str, Any]],
                 published: dict[str, list[SchemaVersion]]) -> None:
        self.root = root
        self._sources = current
        self._versions = published
        self._by_fingerprint = {v.fingerprint: v for vs in published.values() for v in vs}

    @classmethod
    def load(cls, root: Path | None = None) -> SchemaStore:
        root = root or default_schema_dir()
        if not root.is_dir():
            raise SchemaStoreError(f"no schema directory at {root}")
        sources = [
            _load_json(path)
            for path in sorted(root.rglob("*.avsc"))
            if PUBLISHED_DIR not in path.relative_to(root).parts
        ]
        published: dict[str, list[SchemaVersion]] = {}
        for directory in sorted((root / PUBLISHED_DIR).glob("*")):
            files = sorted(directory.glob("v*.avsc"), key=lambda p: int(p.stem[1:]))
            published[directory.name] = [
                SchemaVersion.of(_load_json(p), int(p.stem[1:])) for p in files
            ]
        return cls(root, _expand_sources(sources), published)

    def names(self) -> list[str]:
        return sorted(self._sources)

    def versions(self, name: str) -> list[SchemaVersion]:
        """Every published version of ``name``, oldest first."""
        return list(self._versions.get(name, []))

    def unpublished(self) -> list[str]:
        """Event schemas whose current source is not their latest published version."""
        return [name for name in self.names() if self._latest_matches(name) is None]

    def _latest_matches(self, name: str) -> SchemaVersion | None:
        versions = self._versions.get(name)
        if not versions:
            return None
        latest = versions[-1]
        source_fp = crc64_avro(canonical_form(self._sources[name]))
        return latest if latest.fingerprint == source_fp else None

    def current(self, name: str) -> SchemaVersion:
        """The version new events of ``name`` are written with."""
        if name not in self._sources:
            raise SchemaStoreError(f"no source schema for event {name} under {self.root}")
        latest = self._latest_matches(name)
        if latest is None:
            raise SchemaStoreError(
                f"schema {name} has unpublished changes: run `crowdlog schemas publish`"
            )
        return latest

    def find(self, fingerprint: bytes) -> SchemaVersion | None:
        """The published version with this fingerprint, if any."""
        return self._by_fingerprint.get(fingerprint)

    def by_fingerprint(self, fingerprint: bytes) -> SchemaVersion:
        try:
            return self._by_fingerprint[fingerprint]
        except KeyError:
            raise UnknownFingerprint(fingerprint) from None

    def publish(self, names: Iterable[str] | None = None) -> list[SchemaVersion]:
        """Write a new version for each unpublished schema, refusing incompatible changes.

        The new schema must read data written with every earlier version (BACKWARD_TRANSITIVE);
        otherwise nothing is written and ``SchemaStoreError`` lists the reasons.
        """
        todo = [n for n in (names or self.unpublished()) if self._latest_matches(n) is None]
        problems = []
        for name in todo:
            for old in self._versions.get(name, []):
                problems += [
                    f"{name} v{old.version}: {p}"
                    for p in incompatibilities(self._sources[name], old.schema)
                ]
        if problems:
            raise SchemaStoreError("incompatible schema changes:\n  " + "\n  ".join(problems))
        written = []
        for name in todo:
            number = len(self._versions.get(name, [])) + 1
            version = SchemaVersion.of(self._sources[name], number)
            target = self.root / PUBLISHED_DIR / name / f"v{number}.avsc"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(self._sources[name], indent=2) + "\n", encoding="utf-8")
            self._versions.setdefault(name, []).append(version)
            self._by_fingerprint[version.fingerprint] = version
            written.append(version)
        return written
