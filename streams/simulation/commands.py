"""`crowdlog world ...`, `crowd simulate` and `partners simulate`.

Kept apart from ``streams.cli`` so the main command line stays an index; each function takes
the parsed arguments and the settings and returns the exit code.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from streams.crowd.commands import add_bridge_command
from streams.settings import Settings


def world_generate(args: argparse.Namespace, _settings: Settings) -> int:
    from streams.world.files import write_world
    from streams.world.generate import generate_world
    from streams.world.model import WorldConfig

    config = WorldConfig(athletes=args.athletes, seed=args.seed, workers=args.workers,
                         namesake_rate=args.namesake_rate, spammer_rate=args.spammer_rate)
    started = time.perf_counter()
    world = generate_world(config)
    write_world(world, Path(args.out))
    kinds: dict[str, int] = {}
    for worker in world.workers:
        kinds[worker.kind] = kinds.get(worker.kind, 0) + 1
    namesakes = sum(a.namesake_of is not None for a in world.athletes)
    print(f"world of {len(world.athletes)} athletes ({namesakes} namesakes), "
          f"{len(world.workers)} workers {kinds}, {len(world.provider_rows)} feed rows, "
          f"{len({g.provider_ref for g in world.gold})} gold records "
          f"in {time.perf_counter() - started:.1f}s -> {args.out}")
    return 0


def world_simulate(args: argparse.Namespace, settings: Settings) -> int:
    """The pipeline in process against a world (no Kafka), scored against its truth."""
    from streams.consensus.core import ConsensusConfig
    from streams.simulation.local import run_local
    from streams.simulation.score import score
    from streams.world.files import load_world

    world = load_world(Path(args.world))
    config = ConsensusConfig(method=args.method, early_stop=not args.no_early_stop,
                             instance=settings.instance)
    started = time.perf_counter()
    run = run_local(world, consensus_config=config)
    print(f"{len(run.events)} events in {time.perf_counter() - started:.1f}s "
          f"({args.method}{'' if config.early_stop else ', no early stopping'})")
    print("\n".join(score(world, run.events).lines()))
    return 0


def world_score(args: argparse.Namespace, settings: Settings) -> int:
    """Read a broker run's crowd topics back, as they are now, and score them against the
    world's truth (a ``LogReader``: nothing committed, nothing written)."""
    from streams.codecs import default_codec
    from streams.prediction.evaluate import top_overlap
    from streams.prediction.models import PageViewsPredicted
    from streams.simulation.score import score
    from streams.tools.log_reader import LogReader
    from streams.topics import (
        CONSENSUS_RESULTS,
        ENRICHMENT_PROFILES,
        PREDICTION_PAGEVIEWS,
        TASKS_ASSIGNMENTS,
        TASKS_HITS,
        WORKERS_QUALITY,
        WORKERS_REVIEWS,
        full_name,
    )
    from streams.world.files import load_world

    world = load_world(Path(args.world))
    topics = [full_name(spec, settings.topic_prefix) for spec in
              (TASKS_HITS, TASKS_ASSIGNMENTS, CONSENSUS_RESULTS, WORKERS_QUALITY,
               WORKERS_REVIEWS, ENRICHMENT_PROFILES, PREDICTION_PAGEVIEWS)]
    reader = LogReader(settings, topics, idle_timeout=args.idle_timeout)
    events = [event for _where, event in reader.events(default_codec())]
    for line in reader.problems():
        print(line, file=sys.stderr)
    print("\n".join(score(world, events).lines()))
    predicted = {e.entity_id.split(":", 1)[1]: e.page_views for e in events
                 if isinstance(e, PageViewsPredicted)}
    if predicted:
        print(f"ranking             {top_overlap(predicted, world)} of the world's true top 20 "
              f"in the predicted top 20 ({len(predicted)} athletes predicted)")
    return 0


def crowd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from streams.codecs import default_codec
    from streams.simulation.service import run_crowd_service
    from streams.world.files import load_world

    world = load_world(Path(args.world))
    summary = run_crowd_service(settings, default_codec(), world,
                                pipeline_group=f"{settings.topic_prefix}crowdlog",
                                step_seconds=args.step_seconds)
    print(f"crowd: {summary.submitted} assignments for {summary.hits} HITs in "
          f"{summary.steps} steps of {args.step_seconds:g} simulated seconds"
          + (f"; {summary.unanswerable} HITs about athletes outside the world left unanswered"
             if summary.unanswerable else ""))
    return 0


def partners_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from streams.codecs import default_codec
    from streams.simulation.partners import run_partner_service
    from streams.world.files import load_world

    world = load_world(Path(args.world))
    report = run_partner_service(settings, default_codec(), world,
                                 posts_per_athlete=args.posts, rate=args.rate,
                                 idle_timeout=args.idle_timeout)
    print(f"partners: {report.published} post outcomes published"
          + (f", {report.waiting} still waiting for a prediction" if report.waiting else ""))
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``world``, ``crowd`` and ``partners`` on the main parser."""
    world = commands.add_parser("world", help="generate, simulate or score a simulated world")
    actions = world.add_subparsers(dest="action", required=True)
    generate = actions.add_parser("generate", help="write a world: feed, gold set, truth")
    generate.add_argument("--athletes", type=int, default=2000)
    generate.add_argument("--seed", type=int, default=1)
    generate.add_argument("--workers", type=int, default=200)
    generate.add_argument("--namesake-rate", type=float, default=0.05)
    generate.add_argument("--spammer-rate", type=float, default=0.10)
    generate.add_argument("--out", required=True)
    generate.set_defaults(run=world_generate)
    simulate = actions.add_parser("simulate", help="run the crowd pipeline in process, scored")
    simulate.add_argument("world")
    simulate.add_argument("--method", choices=["dawid-skene", "quorum"], default="dawid-skene")
    simulate.add_argument("--no-early-stop", action="store_true")
    simulate.set_defaults(run=world_simulate)
    scored = actions.add_parser("score", help="score what a broker run wrote to the topics")
    scored.add_argument("world")
    scored.add_argument("--idle-timeout", type=float, default=5.0)
    scored.set_defaults(run=world_score)

    crowd = commands.add_parser("crowd", help="the simulated crowd platform as a service")
    crowd_actions = crowd.add_subparsers(dest="action", required=True)
    service = crowd_actions.add_parser("simulate", help="answer the pipeline's HITs")
    service.add_argument("--world", required=True)
    service.add_argument("--step-seconds", type=float, default=10.0,
                         help="simulated seconds between the pipeline's chances to react")
    service.set_defaults(run=crowd_simulate)
    add_bridge_command(crowd_actions)

    partners = commands.add_parser("partners", help="our platform's partnered posts, simulated")
    partners_actions = partners.add_subparsers(dest="action", required=True)
    posts = partners_actions.add_parser("simulate",
                                        help="publish page views of predicted athletes' posts")
    posts.add_argument("--world", required=True)
    posts.add_argument("--posts", type=int, default=3, help="posts per partnered athlete")
    posts.add_argument("--rate", type=float, default=200.0, help="outcomes per second")
    posts.add_argument("--idle-timeout", type=float, default=20.0,
                       help="stop after this many seconds without a new prediction to act on")
    posts.set_defaults(run=partners_simulate)
