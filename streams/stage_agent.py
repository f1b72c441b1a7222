"""The one Faust adapter every stage agent is: decode, load state, call the core, save, send.

A stage is described by a ``Step``: a pure function from (stored state, event) to (new state,
events to emit). This module supplies the rest, once:

* values are read as raw bytes and decoded with crowdlog's codec here, so an undecodable message
  becomes a ``MessageDeadLettered`` with its original bytes instead of Faust's log-and-skip;
* an exception raised by the core for one event dead-letters that event (``stage_error``) and
  the partition moves on, so a poison message never stalls the stage;
* state lives in a changelog-backed table keyed like the input (co-partitioned), as JSON;
* each emitted event goes to its catalogue topic, keyed by its entity id.

The table is written before the events are sent; after a crash the input is redelivered (at
least once) and the cores recognise what their state already holds (they re-emit the same
events, with the same ids, where an output may have been lost).
"""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import StreamT
from mode import CrashingSupervisor

from streams.events.codec import Codec
from streams.events.deadletter import dead_letter_message
from streams.events.errors import EventFormatError
from streams.events.model import Event, Producer
from streams.logs import Handling, handling
from streams.settings import Settings
from streams.topics import CATALOGUE, DEADLETTER, TopicSpec, full_name, spec_for

Step = Callable[[str, Mapping[str, Any] | None, Event], tuple[dict[str, Any] | None,
                                                                Sequence[Event]]]


class StageAgent:
    """Attach one stage to ``app``: ``sources`` in, ``step`` applied, outputs to the catalogue."""

    def __init__(self, app: faust.App, settings: Settings, codec: Codec, *, name: str,
                 sources: Sequence[TopicSpec], step: Step, producer: Producer,
                 state_key: Callable[[Event], str] | None = None) -> None:
        self._codec = codec
        self._step = step
        self._producer = producer
        self._prefix = settings.topic_prefix
        self._key = state_key or (lambda event: event.entity_id)
        partitions = {spec.partitions for spec in sources}
        if len(partitions) != 1:
            raise ValueError(f"{name}: sources must be co-partitioned, got {partitions}")
        self.table = app.Table(f"{name}-state", default=None, partitions=partitions.pop(),
                               schema=faust.Schema(key_serializer="json",
                                                   value_serializer="json"))
        self._topics: dict[str, faust.TopicT] = {}
        self._app = app
        source = app.topic(*(full_name(spec, self._prefix) for spec in sources),
                           key_serializer="raw", value_serializer="raw")
        # A stage whose actor dies (its table or the broker failing under it, never an event:
        # those are dead-lettered) takes the worker down, exit code 1, for its supervisor to
        # restart. Under Faust's default supervisor the worker stayed up with the stage's
        # partitions unread, and nothing but its log said so (seen with PartitionsMismatch).
        app.agent(source, name=name, supervisor_strategy=CrashingSupervisor)(self._run)

    def _topic(self, spec: TopicSpec) -> faust.TopicT:
        name = full_name(spec, self._prefix)
        if name not in self._topics:
            self._topics[name] = self._app.topic(name, key_serializer="raw",
                                                 value_serializer="raw")
        return self._topics[name]

    async def _run(self, stream: StreamT[Any]) -> AsyncIterator[None]:
        async for message in stream.events():
            await self.process(message)
            yield None

    async def process(self, message: Any) -> None:
        """Handle one Faust event (the message with its raw key and value)."""
        record = message.message
        coordinates = (record.topic, record.partition, record.offset)
        try:
            event = self._codec.decode(message.value)
        except EventFormatError as exc:
            await self._dead_letter(message, coordinates, code=exc.code, reason=str(exc))
            return
        token = handling.set(Handling(event.event_id, record.topic, record.partition,
                                      record.offset))
        try:
            key = self._key(event)
            try:
                state, outputs = self._step(key, self.table.get(key), event)
            except Exception:
                await self._dead_letter(message, coordinates, code="stage_error",
                                        reason=traceback.format_exc(limit=5))
                return
            if state is not None:
                self.table[key] = state
            for output in outputs:
                await self.send(output)
        finally:
            handling.reset(token)

    async def send(self, event: Event) -> None:
        """Publish ``event`` to its catalogue topic, keyed by its entity."""
        await self._topic(spec_for(type(event), CATALOGUE)).send(
            key=event.entity_id.encode(), value=self._codec.encode(event))

    async def _dead_letter(self, message: Any, coordinates: tuple[str, int, int], *, code: str,
                           reason: str) -> None:
        topic, partition, offset = coordinates
        stamp = message.message.timestamp
        at = datetime.fromtimestamp(stamp, UTC) if stamp else datetime.now(UTC)
        letter = dead_letter_message(topic=topic, partition=partition, offset=offset,
                                     key=message.key, value=message.value, timestamp=at,
                                     error=code, reason=reason, producer=self._producer)
        await self._topic(DEADLETTER).send(key=letter.entity_id.encode(),
                                           value=self._codec.encode(letter))
