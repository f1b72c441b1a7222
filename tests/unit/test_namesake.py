"""The namesake check: single verdicts, then its rates on whole generated worlds."""

from __future__ import annotations

import pytest

from streams.enrichment.namesake import (
    NamesakeVerdict,
    ProfileText,
    RecordFacts,
    check_profile,
    stronger_context,
)
from streams.enrichment.namesake_eval import NamesakeReport, measure
from streams.world.generate import generate_world
from streams.world.model import WorldConfig

RECORD = RecordFacts("Anthony Davis", "basketball", "NBA", "Los Angeles Lakers", "US")


def _profile(bio: str, followers: int = 50_000, platform: str = "instagram") -> ProfileText:
    return ProfileText(platform, followers, False, "athlete", bio)


def test_a_sport_contradiction_is_caught_with_evidence() -> None:
    verdict = check_profile(RECORD, _profile("NFL football player. Chicago Bears. Family first."))
    assert verdict.contradicts
    assert "bio names sport 'american football', record says 'basketball'" in verdict.evidence
    assert any("team 'Chicago Bears'" in line for line in verdict.evidence)


def test_an_individual_sport_bio_contradicts_a_team_sport_record() -> None:
    verdict = check_profile(RECORD, _profile("Official account of Anthony Davis, golfer from "
                                             "United States."))
    assert verdict.contradicts
    assert verdict.sports == ("golf",)


def test_the_own_bio_is_no_contradiction() -> None:
    verdict = check_profile(RECORD, _profile("Power forward for Los Angeles Lakers. NBA."))
    assert verdict == NamesakeVerdict(False, 0.0, (), verdict.profile, ("basketball",),
                                      ("Los Angeles Lakers",))


def test_a_current_other_team_in_the_same_league_is_a_contradiction() -> None:
    verdict = check_profile(RECORD, _profile("Center for Miami Heat. NBA."))
    assert verdict.contradicts
    assert verdict.evidence == ("bio names team 'Miami Heat', record says 'Los Angeles Lakers'",)


def test_a_missing_team_in_the_record_is_no_contradiction() -> None:
    record = RecordFacts("Anthony Davis", "basketball", None, None, None)
    verdict = check_profile(record, _profile("NBA basketball player. Miami Heat. Family first."))
    assert not verdict.contradicts
    assert verdict.evidence == ()


def test_a_former_team_bio_is_no_false_alarm() -> None:
    for bio in ("Former center for Miami Heat. NBA.", "Miami Heat alum. United States."):
        verdict = check_profile(RECORD, _profile(bio))
        assert not verdict.contradicts, bio
        assert verdict.score == 0.5


def test_a_former_team_with_a_grossly_different_audience_is_a_contradiction() -> None:
    others = [_profile("x", 40_000, "twitter"), _profile("y", 30_000, "facebook")]
    verdict = check_profile(RECORD, _profile("Miami Heat alum. United States.", 900),
                            other_profiles=others)
    assert verdict.contradicts
    assert verdict.score == 1.0


def test_audience_alone_is_only_weak_evidence() -> None:
    others = [_profile("Lakers", 5_000_000, "twitter")]
    verdict = check_profile(RECORD, _profile("Power forward for Los Angeles Lakers. NBA.", 900),
                            other_profiles=others)
    assert not verdict.contradicts
    assert verdict.score == 0.5


def test_club_and_country_words_in_the_name_are_not_read() -> None:
    record = RecordFacts("Chelsea Jordan", "basketball", "WNBA", "Seattle Storm", "US")
    verdict = check_profile(record, _profile("Official account of Chelsea Jordan. Basketball "
                                             "player | Seattle Storm"))
    assert not verdict.contradicts


def test_a_lower_case_team_in_the_record_still_matches() -> None:
    record = RecordFacts("Ana Ruiz", "soccer", "La Liga", "real madrid", "ES")
    verdict = check_profile(record, _profile("Forward for Real Madrid. La Liga."))
    assert not verdict.contradicts


def test_stronger_context_names_the_record_and_the_account_to_avoid() -> None:
    profile = ProfileText("twitter", 12_000, True, "athlete",
                          "NFL football player. Chicago Bears. Family first.")
    context = stronger_context(RECORD, check_profile(RECORD, profile))
    assert context == {
        "name": "Anthony Davis", "sport": "basketball", "league": "NBA",
        "team": "Los Angeles Lakers", "country": "US",
        "not": "the football player of Chicago Bears whose twitter account (12,000 followers, "
               "verified) has the bio 'NFL football player. Chicago Bears. Family first.'",
    }


@pytest.fixture(scope="module", params=[1, 2])
def report(request: pytest.FixtureRequest) -> NamesakeReport:
    seed: int = request.param
    return measure(generate_world(WorldConfig(athletes=2000, seed=seed)))


def test_on_a_world_most_wrong_namesakes_are_caught(report: NamesakeReport) -> None:
    assert report.wrong_handles > 150
    assert report.catch_rate >= 0.90, "\n".join(report.lines())


def test_on_a_world_correct_handles_rarely_raise_alarms(report: NamesakeReport) -> None:
    assert report.right_handles > 4000
    assert report.false_alarm_rate <= 0.01, "\n".join(report.lines())
