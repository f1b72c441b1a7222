"""Broker requests retried while the broker is slow, raised at once when the error is real."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from confluent_kafka import KafkaError, KafkaException

from streams.broker_calls import is_transient, retrying


def _failing(*codes: int, answer: str = "ok") -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def call() -> str:
        calls.append(1)
        if len(calls) <= len(codes):
            raise KafkaException(KafkaError(codes[len(calls) - 1]))
        return answer

    return calls, call


def test_transient_failures_are_asked_again_until_an_answer() -> None:
    calls, call = _failing(KafkaError._TIMED_OUT, KafkaError.COORDINATOR_LOAD_IN_PROGRESS)
    assert retrying(call, what="offsets", first_wait=0.0) == "ok"
    assert len(calls) == 3


def test_a_real_error_is_raised_at_once() -> None:
    calls, call = _failing(KafkaError.TOPIC_AUTHORIZATION_FAILED)
    with pytest.raises(KafkaException):
        retrying(call, what="offsets", first_wait=0.0)
    assert len(calls) == 1


def test_the_last_transient_failure_is_raised_past_the_deadline() -> None:
    calls, call = _failing(*[KafkaError._TIMED_OUT] * 50)
    with pytest.raises(KafkaException) as raised:
        retrying(call, what="offsets", deadline=0.05, first_wait=0.01)
    assert raised.value.args[0].code() == KafkaError._TIMED_OUT
    assert 1 < len(calls) < 50


def test_what_counts_as_transient() -> None:
    assert is_transient(KafkaException(KafkaError(KafkaError._TRANSPORT)))
    assert is_transient(KafkaException(KafkaError(KafkaError.NOT_COORDINATOR)))
    assert not is_transient(KafkaException(KafkaError(KafkaError.INVALID_CONFIG)))
    assert not is_transient(KafkaException("a message, not a KafkaError"))
