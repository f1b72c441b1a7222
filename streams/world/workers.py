"""The crowd's members: their kind and the hidden parameters of their behaviour.

Parameters are drawn per worker, so two reliable workers differ as real ones do. Activity is
log-normal (sigma 1): a few workers take a large share of the assignments, as on Mechanical
Turk, but no single worker dominates a 200-strong crowd (the busiest takes about 5%).
"""

from __future__ import annotations

import random
import string

from streams.world.model import Worker, WorldConfig

# Per kind: (accuracy range, noise range, median seconds per assignment range).
_PARAMETERS = {
    "reliable": ((0.93, 0.99), (0.02, 0.15), (60.0, 150.0)),
    "sloppy": ((0.75, 0.90), (0.40, 0.80), (40.0, 100.0)),
    "confuser": ((0.92, 0.98), (0.02, 0.20), (60.0, 150.0)),
    "spammer": ((0.0, 0.0), (0.0, 0.50), (6.0, 20.0)),
}
_SPAM_MODES = (("random", 0.5), ("not-found", 0.3), ("fixed", 0.2))
# What a "fixed" spammer pastes everywhere; the empty entry stands for a famous handle.
_FIXED_TEXTS = ("", "", "N/A", "idk")
_ID_ALPHABET = string.ascii_uppercase + string.digits


def make_workers(config: WorldConfig, famous_handle: str,
                 rng: random.Random) -> tuple[Worker, ...]:
    """The crowd: exact shares of each kind (rounded), in random order.

    ``famous_handle`` is what some copy-paste spammers type into every box: a star's handle
    is the first thing a search shows.
    """
    counts = {kind: round(config.workers * rate) for kind, rate in (
        ("spammer", config.spammer_rate), ("sloppy", config.sloppy_rate),
        ("confuser", config.confuser_rate))}
    counts["reliable"] = config.workers - sum(counts.values())
    kinds = [kind for kind, count in counts.items() for _ in range(count)]
    rng.shuffle(kinds)
    ids: set[str] = set()
    workers = []
    for kind in kinds:
        worker_id = _worker_id(rng, ids)
        accuracy, noise, seconds = (round(rng.uniform(*bounds), 4)
                                    for bounds in _PARAMETERS[kind])
        spam = fixed = ""
        if kind == "spammer":
            spam = rng.choices([m for m, _ in _SPAM_MODES], weights=[w for _, w in _SPAM_MODES])[0]
            if spam == "fixed":
                fixed = rng.choice(_FIXED_TEXTS) or famous_handle or "N/A"
        workers.append(Worker(
            worker_id=worker_id, kind=kind, accuracy=accuracy, noise=noise,
            activity=round(rng.lognormvariate(0.0, 1.0), 4), work_seconds=seconds,
            spam=spam, fixed_answer=fixed,
        ))
    return tuple(workers)


def _worker_id(rng: random.Random, taken: set[str]) -> str:
    """A Mechanical Turk style worker id: ``A`` and 13 upper-case letters or digits."""
    while True:
        worker_id = "A" + "".join(rng.choices(_ID_ALPHABET, k=13))
        if worker_id not in taken:
            taken.add(worker_id)
            return worker_id
