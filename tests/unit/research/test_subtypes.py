"""The subtype mixture (EBCC) reference: a proper posterior, deterministic, later answers win."""

import random

from research.consensus.subtypes import subtype_posteriors


def _crowd(seed: int) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    truth = {f"t{i}": rng.choice("abc") for i in range(60)}
    answers = []
    for item, label in truth.items():
        for worker, skill in (("ann", 0.9), ("bob", 0.8), ("cy", 0.7), ("dan", 0.6)):
            given = label if rng.random() < skill else rng.choice([x for x in "abc" if x != label])
            answers.append((item, worker, given))
    return answers


def test_posteriors_are_distributions_over_the_answered_labels() -> None:
    posteriors = subtype_posteriors(_crowd(1))
    assert len(posteriors) == 60
    for posterior in posteriors.values():
        assert set(posterior) == {"a", "b", "c"}
        assert abs(sum(posterior.values()) - 1.0) < 1e-9


def test_the_same_answers_give_the_same_posteriors() -> None:
    assert subtype_posteriors(_crowd(2)) == subtype_posteriors(_crowd(2))


def test_a_repeated_pair_keeps_the_later_answer() -> None:
    answers = [("t1", "ann", "a"), ("t1", "bob", "a"), ("t1", "cy", "b"), ("t1", "cy", "a")]
    once = [("t1", "ann", "a"), ("t1", "bob", "a"), ("t1", "cy", "a")]
    assert subtype_posteriors(answers) == subtype_posteriors(once)


def test_no_answers_no_posteriors() -> None:
    assert subtype_posteriors([]) == {}
