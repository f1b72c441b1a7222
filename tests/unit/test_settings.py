"""The Kafka connection from the environment: named variables, the properties file, credentials
from files, and nothing secret in a repr, an error message or the exit line."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.cli import main
from streams.settings import DEFAULT_BOOTSTRAP, Secret, Settings

PASSWORD = "s3cret-Pa55word"


def _properties(tmp_path: Path, text: str) -> str:
    path = tmp_path / "client.properties"
    path.write_text(text)
    return str(path)


def test_without_variables_the_connection_is_the_local_plaintext_broker() -> None:
    settings = Settings.from_env({"CROWDLOG_INSTANCE": "me"})
    assert settings.bootstrap_servers == DEFAULT_BOOTSTRAP
    assert settings.kafka_properties == {}
    assert not settings.secured
    assert settings.client_properties() == {"client.id": "me",
                                             "bootstrap.servers": DEFAULT_BOOTSTRAP}


def test_the_named_variables_become_librdkafka_properties() -> None:
    settings = Settings.from_env({
        "KAFKA_BOOTSTRAP_SERVERS": "kafka-1:9094,kafka-2:9094",
        "KAFKA_SECURITY_PROTOCOL": "sasl_ssl", "KAFKA_SASL_MECHANISM": "scram-sha-512",
        "KAFKA_SASL_USERNAME": "crowdlog", "KAFKA_SASL_PASSWORD": PASSWORD,
        "KAFKA_SSL_CA_LOCATION": "/etc/kafka/ca.pem",
        "KAFKA_SSL_CERTIFICATE_LOCATION": "/etc/kafka/client.pem",
        "KAFKA_SSL_KEY_LOCATION": "/etc/kafka/client.key", "KAFKA_SSL_KEY_PASSWORD": "k3y",
        "CROWDLOG_INSTANCE": "worker-0",
    })
    assert settings.secured
    assert settings.client_properties() == {
        "client.id": "worker-0", "bootstrap.servers": "kafka-1:9094,kafka-2:9094",
        "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "crowdlog", "sasl.password": PASSWORD,
        "ssl.ca.location": "/etc/kafka/ca.pem", "ssl.certificate.location": "/etc/kafka/client.pem",
        "ssl.key.location": "/etc/kafka/client.key", "ssl.key.password": "k3y",
    }


def test_the_properties_file_passes_any_property_and_the_variables_win(tmp_path: Path) -> None:
    path = _properties(tmp_path, "\n".join([
        "# the cluster's own settings",
        "! a Java-style comment",
        "",
        "bootstrap.servers = from-file:9092",
        "security.protocol=SASL_SSL",
        "sasl.mechanism=SCRAM-SHA-256",
        "sasl.oauthbearer.config=principal=admin scope=all",
        "socket.keepalive.enable=true",
        "client.id=from-file",
    ]))
    settings = Settings.from_env({"CROWDLOG_KAFKA_PROPERTIES": path,
                                  "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512"})
    config = settings.client_properties()
    assert config["bootstrap.servers"] == "from-file:9092"  # no KAFKA_BOOTSTRAP_SERVERS
    assert config["sasl.mechanism"] == "SCRAM-SHA-512"  # the variable over the file
    assert config["sasl.oauthbearer.config"] == "principal=admin scope=all"  # split at the first =
    assert config["socket.keepalive.enable"] == "true"
    assert config["client.id"] == "from-file"  # CROWDLOG_INSTANCE unset

    named = Settings.from_env({"CROWDLOG_KAFKA_PROPERTIES": path, "CROWDLOG_INSTANCE": "w1",
                               "KAFKA_BOOTSTRAP_SERVERS": "from-env:9092"})
    assert named.client_properties()["client.id"] == "w1"
    assert named.client_properties()["bootstrap.servers"] == "from-env:9092"


def test_a_malformed_line_is_named_by_its_number_not_its_text(tmp_path: Path) -> None:
    path = _properties(tmp_path, f"security.protocol=SASL_SSL\n{PASSWORD}\n")
    with pytest.raises(ValueError, match=r"line 2 of .* is not name=value") as raised:
        Settings.from_env({"CROWDLOG_KAFKA_PROPERTIES": path})
    assert PASSWORD not in str(raised.value)


def test_an_unreadable_properties_file_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"CROWDLOG_KAFKA_PROPERTIES: cannot read .*missing"):
        Settings.from_env({"CROWDLOG_KAFKA_PROPERTIES": str(tmp_path / "missing")})
    binary = tmp_path / "binary.properties"
    binary.write_bytes(b"sasl.password=\xff\xfe" + PASSWORD.encode())
    with pytest.raises(ValueError, match="not UTF-8") as raised:
        Settings.from_env({"CROWDLOG_KAFKA_PROPERTIES": str(binary)})
    assert PASSWORD not in str(raised.value) and "xff" not in str(raised.value)


def test_a_credential_comes_from_its_file_without_the_final_line_break(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text(f"{PASSWORD}\n")
    settings = Settings.from_env({"KAFKA_SASL_PASSWORD_FILE": str(secret),
                                  "KAFKA_SSL_KEY_PASSWORD_FILE": str(secret)})
    assert settings.client_properties()["sasl.password"] == PASSWORD
    assert settings.client_properties()["ssl.key.password"] == PASSWORD


@pytest.mark.parametrize(("environ", "message"), [
    ({"KAFKA_SASL_PASSWORD": PASSWORD, "KAFKA_SASL_PASSWORD_FILE": "/run/secrets/kafka"},
     "set KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both"),
    ({"KAFKA_SSL_KEY_PASSWORD_FILE": "/nonexistent/key-password"},
     "KAFKA_SSL_KEY_PASSWORD_FILE: cannot read /nonexistent/key-password: No such file"),
    ({"KAFKA_SECURITY_PROTOCOL": "TLS"},
     "KAFKA_SECURITY_PROTOCOL must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"),
    ({"KAFKA_SASL_MECHANISM": "GSSAPI"}, "others through CROWDLOG_KAFKA_PROPERTIES"),
])
def test_settings_that_cannot_work_are_refused_with_the_variable(environ: dict[str, str],
                                                                message: str) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        Settings.from_env(environ)
    assert PASSWORD not in str(raised.value)


def test_an_empty_credential_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ValueError, match=r"KAFKA_SASL_PASSWORD_FILE: .* is empty"):
        Settings.from_env({"KAFKA_SASL_PASSWORD_FILE": str(empty)})


def test_the_repr_shows_no_credential(tmp_path: Path) -> None:
    path = _properties(tmp_path, "\n".join([
        f"ssl.keystore.password={PASSWORD}-keystore",
        f"sasl.oauthbearer.client.secret={PASSWORD}-oauth",
        f"ssl.key.pem={PASSWORD}-pem",
        "ssl.endpoint.identification.algorithm=https",
    ]))
    settings = Settings.from_env({"CROWDLOG_KAFKA_PROPERTIES": path,
                                  "KAFKA_SASL_USERNAME": "crowdlog",
                                  "KAFKA_SASL_PASSWORD": PASSWORD,
                                  "KAFKA_SSL_KEY_PASSWORD": PASSWORD})
    shown = f"{settings!r} {settings} {settings.kafka_properties}"
    assert PASSWORD not in shown
    assert "Secret('***')" in shown and "crowdlog" in shown and "https" in shown
    assert str(Secret(PASSWORD)) == repr(Secret(PASSWORD)) == "Secret('***')"
    assert settings == Settings.from_env({"CROWDLOG_KAFKA_PROPERTIES": path,
                                          "KAFKA_SASL_USERNAME": "crowdlog",
                                          "KAFKA_SASL_PASSWORD": PASSWORD,
                                          "KAFKA_SSL_KEY_PASSWORD": PASSWORD,
                                          "CROWDLOG_INSTANCE": settings.instance})


def test_the_command_line_exits_2_with_one_line(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", PASSWORD)
    monkeypatch.setenv("KAFKA_SASL_PASSWORD_FILE", "/run/secrets/kafka")
    assert main(["topics", "list"]) == 2
    err = capsys.readouterr().err
    assert err == "crowdlog: set KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both\n"

    monkeypatch.delenv("KAFKA_SASL_PASSWORD_FILE")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SSL_CA_LOCATION", "/nonexistent/ca.pem")
    assert main(["topics", "create"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("crowdlog: cannot authenticate to the Kafka cluster at "
                               "127.0.0.1:1: ")
    assert PASSWORD not in lines[0]
