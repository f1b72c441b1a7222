"""The enrichment stage on Faust: acceptances in, profiles, unavailable accounts and rejections out.

The agent is the shared ``StageAgent`` over records, consensus results, the stage's own
``enrichment.profiles`` (the state learns a profile when it reads it back) and the lineage
stage's ``lineage.retractions`` (keyed by the retracted event's entity, so co-partitioned with
the rest). Fetches run on the ``Fetcher`` beside it; a timer re-issues lost fetches and
refreshes stale profiles. A retraction also cancels the fetches in flight that it makes void.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import faust

from streams.enrichment import core
from streams.enrichment.core import EnrichmentConfig, EnrichmentState
from streams.enrichment.fetcher import Fetcher
from streams.enrichment.resilient import ResilientClient
from streams.events.codec import Codec
from streams.events.model import Event
from streams.lineage.models import EventRetracted
from streams.settings import Settings
from streams.stage_agent import StageAgent
from streams.topics import (
    CONSENSUS_RESULTS,
    ENRICHMENT_PROFILES,
    LINEAGE_RETRACTIONS,
    RECORDS_RECEIVED,
)


def attach(app: faust.App, settings: Settings, codec: Codec, config: EnrichmentConfig,
           clients: Mapping[str, ResilientClient], *, timer_interval: float = 10.0,
           concurrency: int = 64) -> StageAgent:
    async def send(event: Event) -> None:
        await stage.send(event)  # the stage below, once the fetcher has something to send

    fetcher = Fetcher(clients, send, config, concurrency=concurrency)

    def step(key: str, stored: Mapping[str, Any] | None,
             event: Event) -> tuple[dict[str, Any] | None, list[Event]]:
        if isinstance(event, EventRetracted):
            if not core.follows(event):
                return None, []  # most retractions (HITs, answers, workers) are not ours
            fetcher.cancel(key, event.retracted_id)
        state = EnrichmentState.from_dict(stored)
        outputs, requests = core.handle(state, event, config, datetime.now(UTC))
        for request in requests:
            fetcher.submit(request)
        return state.to_dict(), outputs

    stage = StageAgent(app, settings, codec, name="enrichment",
                       sources=(RECORDS_RECEIVED, CONSENSUS_RESULTS, ENRICHMENT_PROFILES,
                                LINEAGE_RETRACTIONS),
                       step=step, producer=config.producer)

    async def sweep() -> None:
        """Re-issue lost fetches and refresh profiles older than ``max_age``."""
        now = datetime.now(UTC)
        fetcher.forget_sent(now - config.pending_timeout)
        for key, stored in list(stage.table.items()):
            for request in core.due(EnrichmentState.from_dict(stored), key, now, config):
                fetcher.submit(request)

    app.timer(timer_interval, name="enrichment-sweep")(sweep)
    return stage
