"""The stages of the crowd pipeline, configured from the environment, declared for the runner.

Variables (all optional):

``CROWDLOG_CONSENSUS_METHOD``  ``dawid-skene`` (default) or ``quorum``
``CROWDLOG_QUORUM``            answers a value needs under ``quorum`` (default 8)
``CROWDLOG_ACCEPT_CONFIDENCE`` posterior the weighted rule needs (default 0.9999)
``CROWDLOG_ASSIGNMENTS``       workers asked per HIT (default 10)
``CROWDLOG_GOLD_FILE``         the staff-verified gold set (CSV); no gold HITs without it
``CROWDLOG_GOLD_RATE``         share of HITs followed by gold HITs (default 0.1)
``CROWDLOG_BLOCK_BAR``         accuracy under which a worker is blocked (default 0.6)
``CROWDLOG_REFRESH_AGE``       seconds after which a profile is fetched again (default 86400)

Enrichment runs when platform clients are configured (see ``streams.enrichment.clients``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from streams.consensus.core import ConsensusConfig, WorkerView
from streams.consensus.stage import consensus_stage
from streams.enrichment.clients import PlatformConfig
from streams.enrichment.core import EnrichmentConfig
from streams.enrichment.stage import Fetches, enrichment_stage
from streams.settings import Settings
from streams.stage import Stage
from streams.tasks.core import GoldItem, TaskConfig
from streams.tasks.gold import gold_labels, load_gold
from streams.tasks.stage import tasks_stage
from streams.workers.grading import GradingConfig
from streams.workers.quality import QualityConfig
from streams.workers.stage import grading_stage, quality_stage


@dataclass(frozen=True)
class PipelineConfig:
    """The configuration of every crowd stage."""

    tasks: TaskConfig
    consensus: ConsensusConfig
    quality: QualityConfig
    gold: tuple[GoldItem, ...]
    enrichment: EnrichmentConfig
    platforms: PlatformConfig | None

    @classmethod
    def from_env(cls, instance: str) -> PipelineConfig:
        env = os.environ
        gold_file = env.get("CROWDLOG_GOLD_FILE")
        return cls(
            tasks=TaskConfig(assignments=int(env.get("CROWDLOG_ASSIGNMENTS", "10")),
                             gold_rate=float(env.get("CROWDLOG_GOLD_RATE",
                                                     str(TaskConfig.gold_rate))),
                             instance=instance),
            consensus=ConsensusConfig(
                method=env.get("CROWDLOG_CONSENSUS_METHOD", "dawid-skene"),
                required=int(env.get("CROWDLOG_QUORUM", "8")),
                accept_confidence=float(env.get("CROWDLOG_ACCEPT_CONFIDENCE", "0.9999")),
                instance=instance),
            quality=QualityConfig(bar=float(env.get("CROWDLOG_BLOCK_BAR", "0.6")),
                                  instance=instance),
            gold=load_gold(Path(gold_file)) if gold_file else (),
            enrichment=EnrichmentConfig(
                max_age=timedelta(seconds=float(env.get("CROWDLOG_REFRESH_AGE", "86400"))),
                instance=instance),
            platforms=PlatformConfig.from_env(env),
        )


def view_group(settings: Settings) -> str:
    """Where the worker-quality view records how far it has read (see ``QualityView``)."""
    return f"{settings.topic_prefix}crowdlog-quality-view"


def crowd_stages(config: PipelineConfig, workers: WorkerView, *,
                 fetches: Fetches | None = None) -> list[Stage]:
    """The crowd stages and, given where its fetches go, enrichment."""
    stages = [tasks_stage(config.tasks, config.gold),
              consensus_stage(config.consensus, workers),
              grading_stage(GradingConfig(gold=gold_labels(config.gold),
                                          instance=config.tasks.instance)),
              quality_stage(config.quality)]
    if fetches is not None:
        stages.append(enrichment_stage(config.enrichment, fetches))
    return stages
