"""The Confluent wire format and a Schema Registry: how the rest of the Kafka world reads us.

Stock deserializers (Java, Kafka Connect, ksqlDB, Flink, confluent-kafka's own) read Avro as
``00``, a 4-byte big-endian schema id, then the body, and ask a Schema Registry for the writer
schema by id. With ``CROWDLOG_SCHEMA_REGISTRY_URL`` set, crowdlog writes that framing: each
event type is registered under ``<topic>-<record full name>`` (TopicRecordNameStrategy: one topic
carries several event types) with BACKWARD_TRANSITIVE compatibility, the rule the local schema
store already enforces. Decoding needs no configuration change: every reader accepts both
framings on every topic, and a registry id resolves to the store's own version when the
registry's schema has the same fingerprint (so a foreign producer that registered our
published schema under any subject is read like us), or to the registry's schema, resolved
against ours, when it does not.

Registry calls happen once per subject or id (cached); a registry that cannot be reached is an
operational error (``RegistryUnavailable``, never a dead letter: the input is fine and is read
again once the registry answers), a schema it refuses is ``SchemaRefused`` (nothing is sent),
and an id it does not know is an ``UnknownSchemaId`` (the message is dead-lettered).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from streams.events.errors import EventFormatError, RegistryUnavailable, SchemaRefused
from streams.events.schema_store import SchemaStore, SchemaVersion

WIRE_MAGIC = b"\x00"
WIRE_HEADER_SIZE = 5
COMPATIBILITY = "BACKWARD_TRANSITIVE"
# Seconds a registry request may take before the client tries again (its own retries, then
# RegistryUnavailable). The client's default is no limit: a request the server never answers
# would hold the stage, or the producer, for ever.
REQUEST_TIMEOUT = 30
_FIX = " (check CROWDLOG_SCHEMA_REGISTRY_URL and CROWDLOG_SCHEMA_REGISTRY_AUTH, and that it is up)"


class UnknownSchemaId(EventFormatError):
    """A Confluent-framed message whose schema id the registry does not know (or no registry)."""

    code = "unknown_schema_id"


def wire_header(schema_id: int) -> bytes:
    """``00`` and the id, big-endian.

    >>> wire_header(258).hex()
    '0000000102'
    """
    return WIRE_MAGIC + schema_id.to_bytes(4, "big")


def schema_id_of(data: bytes) -> int:
    return int.from_bytes(data[1:WIRE_HEADER_SIZE], "big")


class SchemaRegistry:
    """Ids for our schemas by topic, and writer schemas for ids, from one registry."""

    def __init__(self, client: Any, store: SchemaStore) -> None:
        self._client = client
        self._store = store
        self._ids: dict[tuple[str, bytes], int] = {}
        self._writers: dict[int, SchemaVersion] = {}
        self._lock = threading.Lock()  # a producer's thread and a fetch loop may both encode

    @classmethod
    def connect(cls, url: str, store: SchemaStore,
                config: Mapping[str, str] | None = None) -> SchemaRegistry:
        from confluent_kafka.schema_registry import SchemaRegistryClient  # noqa: PLC0415

        return cls(SchemaRegistryClient({"url": url, "timeout": REQUEST_TIMEOUT,
                                         **(config or {})}), store)

    def id_for(self, topic: str, version: SchemaVersion) -> int:
        """The registry id of ``version`` under the topic's subject, registered if new."""
        subject = f"{topic}-{version.name}"
        known = self._ids.get((subject, version.fingerprint))
        if known is not None:
            return known
        with self._lock:
            schema_id = self._register(subject, version)
            self._ids[(subject, version.fingerprint)] = schema_id
            self._writers.setdefault(schema_id, version)
        return schema_id

    def writer(self, schema_id: int) -> SchemaVersion:
        """The schema an id names: the store's own version when the fingerprints agree."""
        known = self._writers.get(schema_id)
        if known is not None:
            return known
        registered = self._call("read schema", schema_id, lambda: self._client.get_schema(
            schema_id))
        try:
            schema = json.loads(registered.schema_str)
            found = SchemaVersion.of(schema, version=0)
        except (ValueError, TypeError, KeyError) as exc:
            raise UnknownSchemaId(f"schema id {schema_id} is not an Avro record: {exc}") from exc
        version = self._store.find(found.fingerprint) or found
        self._writers[schema_id] = version
        return version

    def compare(self, topic: str, version: SchemaVersion) -> str:
        """How the topic's subject for ``version``'s event stands against the local store:
        ``registered``, ``not registered yet``, ``will register vN`` (the registry accepts it),
        or a problem starting with ``PROBLEM:`` (refused, or a schema the store lacks)."""
        from confluent_kafka.schema_registry import Schema  # noqa: PLC0415

        subject = f"{topic}-{version.name}"
        existing: list[str] = self._call("list subjects", subject,
                                         lambda: self._client.get_subjects(subject_prefix=subject))
        if subject not in existing:
            return "not registered yet"
        ids: list[int] = [self._call("read version", subject,
                                     lambda n=n: self._client.get_version(subject, n).schema_id)
                          for n in self._call("list versions", subject,
                                              lambda: self._client.get_versions(subject))]
        writers = [self.writer(schema_id) for schema_id in ids]
        foreign = [w for w in writers if self._store.find(w.fingerprint) is None]
        if foreign:
            return f"PROBLEM: the registry holds {len(foreign)} version(s) the local store lacks"
        if version.fingerprint in {w.fingerprint for w in writers}:
            return "registered"
        schema = Schema(json.dumps(version.schema), "AVRO")
        if self._call("test compatibility", subject,
                      lambda: self._client.test_compatibility(subject, schema)):
            return f"will register v{version.version}"
        return f"PROBLEM: the registry would refuse v{version.version} ({COMPATIBILITY})"

    def _register(self, subject: str, version: SchemaVersion) -> int:
        from confluent_kafka.schema_registry import Schema  # noqa: PLC0415

        schema = Schema(json.dumps(version.schema), "AVRO")
        existing: list[str] = self._call("list subjects", subject,
                                         lambda: self._client.get_subjects(subject_prefix=subject))
        if subject not in existing:
            self._call("set compatibility", subject,
                       lambda: self._client.set_compatibility(subject, COMPATIBILITY))
        schema_id: int = self._call("register", subject,
                                    lambda: self._client.register_schema(subject, schema))
        return schema_id

    @staticmethod
    def _call(what: str, about: object, call: Any) -> Any:
        from confluent_kafka.schema_registry.error import SchemaRegistryError  # noqa: PLC0415

        try:
            return call()
        except SchemaRegistryError as exc:
            status = exc.http_status_code
            if status == 404 and what == "read schema":
                raise UnknownSchemaId(f"the schema registry knows no schema id {about}") from exc
            if status in (409, 422):
                raise SchemaRefused(f"the schema registry refused {about}: "
                                    f"{exc.error_message}") from exc
            raise RegistryUnavailable(f"schema registry: {what} {about} failed: "
                                      f"HTTP {status} {exc.error_message}{_FIX}") from exc
        except Exception as exc:  # the HTTP client's own: connection refused, DNS, TLS, timeouts
            raise RegistryUnavailable(
                f"schema registry: {what} {about} failed: {exc}{_FIX}") from exc
