"""Precision, coverage and cost of the crowd pipeline on a simulated world, rule against rule.

Runs the in-process pipeline (``streams.simulation.local``: the same cores as the Faust stages)
on one world with each consensus rule, with and without early stopping, and prints one table.
The baseline of the cost column is the same rule collecting every assignment before deciding,
measured in the same run. Run: ``python -m benchmarks.crowd_pipeline [--athletes N]``.
"""

from __future__ import annotations

import argparse
import time

from streams.consensus.core import ConsensusConfig
from streams.simulation.local import run_local
from streams.simulation.score import Score, score
from streams.world.generate import generate_world
from streams.world.model import WorldConfig


def _run(world_config: WorldConfig, config: ConsensusConfig) -> tuple[Score, float]:
    world = generate_world(world_config)
    started = time.perf_counter()
    run = run_local(world, consensus_config=config)
    return score(world, run.events), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--athletes", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    world_config = WorldConfig(athletes=args.athletes, seed=args.seed)
    print(f"world: {args.athletes} athletes, seed {args.seed}, "
          f"{world_config.namesake_rate:.0%} namesakes, {world_config.spammer_rate:.0%} spammers")
    header = (f"{'rule':<26}{'precision':>10}{'handles':>9}{'coverage':>9}{'paid/field':>11}"
              f"{'submitted':>10}{'saved':>7}{'spam blk':>9}{'max ans':>8}{'rel blk':>8}"
              f"{'secs':>6}")
    print(header)
    for method in ("dawid-skene", "quorum"):
        baseline, base_secs = _run(world_config, ConsensusConfig(method=method,
                                                                 early_stop=False))
        early, early_secs = _run(world_config, ConsensusConfig(method=method))
        for label, result, secs in ((f"{method}, collect all", baseline, base_secs),
                                    (f"{method}, early stop", early, early_secs)):
            saved = 1 - result.submitted / baseline.submitted if baseline.submitted else 0.0
            spam = result.answers_before_block.get("spammer", [])
            print(f"{label:<26}{result.precision:>10.2%}{result.handle_precision:>9.2%}"
                  f"{result.coverage:>9.1%}{result.assignments_per_field:>11.2f}"
                  f"{result.submitted:>10}{saved:>7.0%}"
                  f"{result.blocked['spammer']:>4}/{result.workers['spammer']:<4}"
                  f"{max(spam) if spam else 0:>8}{result.blocked_share('reliable'):>8.1%}"
                  f"{secs:>6.1f}")


if __name__ == "__main__":
    main()
