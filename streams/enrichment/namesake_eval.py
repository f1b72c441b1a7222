"""How well the namesake check tells wrong handles from right ones, measured on a world.

Two kinds of accepted handle are checked against the record *as the provider gives it* (the
feed's gaps and cosmetic faults included, through the conversion the pipeline uses):

* wrong: for every athlete with a namesake, the namesake's profile on each platform, as if
  consensus had accepted it; the athlete's own profiles on the other platforms are the other
  accepted profiles (the usual case: consensus errs on one platform, not on all);
* right: every athlete's own profiles, each with the athlete's other profiles as context.

The catch rate is the share of wrong handles the check rejects, the false-alarm rate the share
of right handles it rejects. Athletes whose feed row ingest rejects have no record: skipped.

    python -m streams.enrichment.namesake_eval --athletes 2000 --seed 1
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

from streams.enrichment.namesake import (
    NamesakeVerdict,
    ProfileText,
    RecordFacts,
    check_profile,
)
from streams.handles import PLATFORMS
from streams.simulation.convert import provider_records
from streams.world.generate import generate_world
from streams.world.model import Profile, World, WorldConfig


@dataclass(frozen=True, slots=True)
class NamesakeReport:
    """Counts of the measurement; ``misses`` and ``alarms`` describe each failure."""

    athletes: int
    skipped: int
    wrong_handles: int
    caught: int
    caught_bio_only: int
    right_handles: int
    false_alarms: int
    misses: tuple[str, ...]
    alarms: tuple[str, ...]

    @property
    def catch_rate(self) -> float:
        """Share of wrong-namesake handles rejected (1.0 when there were none)."""
        return self.caught / self.wrong_handles if self.wrong_handles else 1.0

    @property
    def false_alarm_rate(self) -> float:
        """Share of correct handles rejected."""
        return self.false_alarms / self.right_handles if self.right_handles else 0.0

    def lines(self) -> list[str]:
        """The report as text, one fact a line."""
        return [
            f"athletes: {self.athletes} ({self.skipped} without a valid feed row, skipped)",
            f"wrong-namesake handles: {self.wrong_handles}, caught {self.caught} "
            f"({self.catch_rate:.1%}); from the bio alone {self.caught_bio_only}",
            f"correct handles: {self.right_handles}, false alarms {self.false_alarms} "
            f"({self.false_alarm_rate:.2%})",
            *(f"  missed: {miss}" for miss in self.misses),
            *(f"  false alarm: {alarm}" for alarm in self.alarms),
        ]


def measure(world: World) -> NamesakeReport:
    """Check every wrong-namesake and every correct handle of ``world``; count the outcomes."""
    records = {r.provider_ref: RecordFacts.of(r) for r in provider_records(world)}
    wrong = caught = bio_only = right = alarms = 0
    misses: list[str] = []
    alarm_notes: list[str] = []
    for athlete in world.athletes:
        facts = records.get(athlete.ref)
        if facts is None:
            continue
        own = _texts(world, athlete.ref)
        for text in own.values():
            right += 1
            verdict = check_profile(facts, text, other_profiles=_others(own, text.platform))
            if verdict.contradicts:
                alarms += 1
                alarm_notes.append(_note(athlete.ref, text.platform, facts, verdict))
        if athlete.namesake_of is None:
            continue
        for text in _texts(world, athlete.namesake_of).values():
            wrong += 1
            verdict = check_profile(facts, text, other_profiles=_others(own, text.platform))
            caught += verdict.contradicts
            bio_only += check_profile(facts, text).contradicts
            if not verdict.contradicts:
                misses.append(_note(athlete.ref, text.platform, facts, verdict))
    return NamesakeReport(athletes=len(world.athletes),
                          skipped=len(world.athletes) - len(records), wrong_handles=wrong,
                          caught=caught, caught_bio_only=bio_only, right_handles=right,
                          false_alarms=alarms, misses=tuple(misses), alarms=tuple(alarm_notes))


def _texts(world: World, ref: str) -> dict[str, ProfileText]:
    profiles = (world.profile(ref, platform) for platform in PLATFORMS)
    return {p.platform: _text(p) for p in profiles if p is not None}


def _text(profile: Profile) -> ProfileText:
    return ProfileText(platform=profile.platform, followers=profile.followers,
                       verified=profile.verified, category=profile.category, bio=profile.bio)


def _others(own: dict[str, ProfileText], platform: str) -> list[ProfileText]:
    return [text for other, text in own.items() if other != platform]


def _note(ref: str, platform: str, facts: RecordFacts, verdict: NamesakeVerdict) -> str:
    said = "; ".join(verdict.evidence) or "no evidence"
    return (f"{ref} {platform}: record {facts.sport}/{facts.league}/{facts.team}/"
            f"{facts.country}, bio {verdict.profile.bio!r}, score {verdict.score} ({said})")


def main(argv: Sequence[str] | None = None) -> None:
    """Generate a world and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--athletes", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    report = measure(generate_world(WorldConfig(athletes=args.athletes, seed=args.seed)))
    print("\n".join(report.lines()))


if __name__ == "__main__":
    main()
