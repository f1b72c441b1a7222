"""The one error policy every Kafka client gets (``streams.kafka``), without a broker: a refused
client stops the process, a fatal error is raised, everything else is logged and recovered from,
and no caller can build a client without the policy."""

from __future__ import annotations

from typing import cast

import pytest
from confluent_kafka import KafkaError, KafkaException, Message
from structlog.testing import capture_logs

from streams.kafka import clients, errors
from streams.settings import DEFAULT_BOOTSTRAP, AuthenticationFailed, Settings

PASSWORD = "s3cret-Pa55word"


def test_a_plaintext_client_is_made_without_a_check(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a plaintext connection has nothing to verify")

    monkeypatch.setattr(errors, "verify_authentication", refuse)
    config = clients.connection(Settings.from_env({"CROWDLOG_INSTANCE": "me"}))
    assert config["bootstrap.servers"] == DEFAULT_BOOTSTRAP and "error_cb" in config


def test_a_secured_client_is_checked_with_the_credentials_revealed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[tuple[dict[str, str], str]] = []
    monkeypatch.setattr(errors, "verify_authentication",
                        lambda properties, servers: checked.append((dict(properties), servers)))
    settings = Settings.from_env({"KAFKA_BOOTSTRAP_SERVERS": "kafka:9094",
                                  "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                                  "KAFKA_SASL_PASSWORD": PASSWORD})
    config = clients.connection(settings)
    assert config["sasl.password"] == PASSWORD
    assert checked == [(settings.client_properties(), "kafka:9094")]
    assert settings.kafka_config().keys() == config.keys()  # raw clients of tests, the same


def test_a_caller_adds_settings_but_keeps_the_error_policy(
        monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[dict[str, object]] = []
    monkeypatch.setattr(clients, "Consumer", made.append)
    settings = Settings(bootstrap_servers="kafka:9092", topic_prefix="t1.")
    clients.consumer(settings, "g", {"error_cb": print, "enable.auto.commit": False})
    clients.reader(settings)
    joined, reading = made
    assert joined["group.id"] == "g" and joined["enable.auto.commit"] is False
    assert joined["error_cb"] is not print and joined["auto.offset.reset"] == "earliest"
    assert str(reading["group.id"]).startswith("t1.crowdlog.reader.")
    assert (reading["enable.auto.commit"], reading["enable.auto.offset.store"],
            reading["enable.partition.eof"]) == (False, False, True)


def test_the_error_callback_raises_refusals_and_fatal_errors_and_logs_the_rest() -> None:
    on_error = errors.error_callback("kafka:9094")
    with capture_logs() as logged:
        on_error(KafkaError(KafkaError._TRANSPORT, "broker down"))  # librdkafka recovers
    assert [(line["event"], line["error"], line["reason"]) for line in logged] == [
        ("kafka client error", "_TRANSPORT", "broker down")]
    with pytest.raises(AuthenticationFailed,
                       match="cannot authenticate to the Kafka cluster at kafka:9094: bad pw"):
        on_error(KafkaError(KafkaError._AUTHENTICATION, "bad pw"))
    with pytest.raises(KafkaException, match="fenced"):
        on_error(KafkaError(KafkaError._FENCED, "fenced", fatal=True))


class _Polled:
    """A consumed message carrying ``error`` (confluent-kafka makes real ones from a broker)."""

    def __init__(self, error: KafkaError | None) -> None:
        self._error = error

    def error(self) -> KafkaError | None:
        return self._error


def _polled(error: KafkaError | None) -> Message:
    return cast(Message, _Polled(error))


def test_a_polled_error_is_raised_when_fatal_and_passed_over_otherwise() -> None:
    assert errors.checked(_polled(None)) is None
    end = KafkaError(KafkaError._PARTITION_EOF)
    with capture_logs() as logged:
        assert errors.checked(_polled(end)) is end  # a reader's signal: no log line
        slow = KafkaError(KafkaError._TRANSPORT, "cut")
        assert errors.checked(_polled(slow)) is slow
    assert [line["event"] for line in logged] == ["consumer error"]
    with pytest.raises(KafkaException):
        errors.checked(_polled(KafkaError(KafkaError._FATAL, "gone", fatal=True)))


def test_a_client_that_cannot_be_made_is_refused_before_it_connects() -> None:
    properties = {"bootstrap.servers": "127.0.0.1:1", "security.protocol": "SSL",
                  "ssl.ca.location": "/nonexistent/ca.pem"}
    with pytest.raises(AuthenticationFailed, match=r"127\.0\.0\.1:1: .*ssl\.ca\.location"):
        errors.verify_authentication(properties, "127.0.0.1:1")


def test_a_cluster_out_of_reach_is_left_to_the_callers() -> None:
    properties = {"bootstrap.servers": "127.0.0.1:1", "security.protocol": "SSL"}
    errors.verify_authentication(properties, "127.0.0.1:1", patience=0.5)  # no raise


def test_every_group_crowdlog_joins_uses_the_configured_session(
        monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[dict[str, object]] = []
    monkeypatch.setattr(clients, "Consumer", made.append)
    settings = Settings.from_env({"CROWDLOG_SESSION_TIMEOUT": "6"})
    clients.consumer(settings, "g")
    clients.consumer(settings, "g", {"session.timeout.ms": 30_000})  # a caller's own wins
    assert [(c["session.timeout.ms"], c["heartbeat.interval.ms"]) for c in made] == [
        (6_000, 1_500), (30_000, 1_500)]
    assert Settings().session_timeout == 10.0  # librdkafka's own 45 s would stall a restart
