"""Page-view models, online against batch, and the namesake check, on simulated worlds.

Three tables, each against a baseline measured in the same run:

* every registered River model's progressive error (predict, score, then learn) on the same
  outcome stream; the batch ridge model fitted afterwards on all the same data and features is
  the baseline (``ratio`` = online error over the last window / batch cross-validated error);
* the namesake check alone on every wrong-namesake profile and every right profile of a world;
* the whole pipeline in process with a crowd of confusers heavy enough that namesakes pass
  consensus, so the check's catch rate on what consensus let through can be measured.

Run: ``python -m benchmarks.prediction [--athletes N]``.
"""

from __future__ import annotations

import argparse
import time

from streams.consensus.core import ConsensusConfig
from streams.enrichment.namesake_eval import measure
from streams.prediction.evaluate import compare_online_and_batch
from streams.prediction.learners import DEFAULT_MODEL, MODELS
from streams.simulation.local import run_local
from streams.simulation.score import score
from streams.world.generate import generate_world
from streams.world.model import WorldConfig


def _models(athletes: int, seeds: tuple[int, ...]) -> None:
    print(f"page views per post: {athletes} athletes, 3 posts each; log-scale MAE "
          f"(default model: {DEFAULT_MODEL})")
    print(f"{'seed':>4} {'model':<8}{'whole':>8}{'last 500':>9}{'batch':>8}{'ratio':>7}"
          f"{'top-20':>7}{'secs':>6}")
    for seed in seeds:
        world = generate_world(WorldConfig(athletes=athletes, seed=seed))
        for name in sorted(MODELS):
            c = compare_online_and_batch(world, name, seed=seed)
            print(f"{seed:>4} {name:<8}{c.online_log_mae:>8.4f}{c.final_log_mae:>9.4f}"
                  f"{c.batch_log_mae:>8.4f}{c.ratio:>7.3f}{c.top_overlap:>7}{c.seconds:>6.1f}")
        curve = compare_online_and_batch(world, DEFAULT_MODEL, seed=seed).curve
        print(f"     {DEFAULT_MODEL} error per 500 outcomes: "
              + " ".join(f"{value:.3f}" for value in curve))


def _namesake_check(athletes: int, seeds: tuple[int, ...]) -> None:
    print("\nnamesake check alone: every namesake's profile against the record, and every "
          "right profile")
    for seed in seeds:
        report = measure(generate_world(WorldConfig(athletes=athletes, seed=seed)))
        print(f"  seed {seed}: caught {report.caught}/{report.wrong_handles} "
              f"({report.catch_rate:.1%}), false alarms {report.false_alarms}/"
              f"{report.right_handles} ({report.false_alarm_rate:.2%})")


def _through_the_pipeline(athletes: int) -> None:
    print("\nthrough the pipeline (in process), 35% confusers, 20% namesakes:")
    world = generate_world(WorldConfig(athletes=athletes, seed=1, confuser_rate=0.35,
                                       namesake_rate=0.2))
    for method in ("dawid-skene", "quorum"):
        started = time.perf_counter()
        run = run_local(world, downstream=True, consensus_config=ConsensusConfig(method=method))
        result = score(world, run.events)
        print(f"  {method:<12} namesake handles accepted {result.namesake_accepted}, caught "
              f"{result.namesake_caught} ({result.namesake_catch_rate:.1%}); false alarms "
              f"{result.false_alarms}/{result.profiled_right} ({result.false_alarm_rate:.2%}); "
              f"final precision {result.precision:.2%} "
              f"({time.perf_counter() - started:.0f}s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--athletes", type=int, default=2000)
    args = parser.parse_args()
    _models(args.athletes, seeds=(1, 2))
    _namesake_check(args.athletes, seeds=(1, 2))
    _through_the_pipeline(args.athletes)


if __name__ == "__main__":
    main()
