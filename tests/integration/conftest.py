"""Fixtures for tests that talk to the real Kafka broker: unique topics per test."""

from __future__ import annotations

import os
import uuid

import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from streams.admin import catalogue_requests, ensure_topics
from streams.settings import Settings
from tests.conftest import missing_service


@pytest.fixture(scope="session")
def bootstrap() -> str:
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not servers:
        missing_service("no Kafka: KAFKA_BOOTSTRAP_SERVERS is not set")
    try:
        AdminClient({"bootstrap.servers": str(servers)}).list_topics(timeout=15)
    except Exception as exc:
        missing_service(f"Kafka at {servers} does not answer: {exc}")
    return str(servers)


@pytest.fixture(scope="session")
def schema_registry_url() -> str:
    """The Confluent-API base URL of a real Schema Registry (`make test` starts Apicurio).

    Tests opt in with this fixture: the pipeline's own CROWDLOG_SCHEMA_REGISTRY_URL is not set.
    """
    url = os.environ.get("CROWDLOG_TEST_SCHEMA_REGISTRY_URL")
    if not url:
        missing_service("no Schema Registry: CROWDLOG_TEST_SCHEMA_REGISTRY_URL is not set")
    try:
        SchemaRegistryClient({"url": str(url), "timeout": 15}).get_subjects()
    except Exception as exc:
        missing_service(f"Schema Registry at {url} does not answer: {exc}")
    return str(url)


@pytest.fixture
def settings(bootstrap: str) -> Settings:
    """Settings whose catalogue topics exist and belong to this test alone."""
    prefixed = Settings(bootstrap_servers=bootstrap, instance="pytest",
                        topic_prefix=f"test-{uuid.uuid4().hex[:10]}.")
    # whole before the test starts: a topic just created can be missing from another client's
    # metadata for a moment (seen: a fresh AdminClient's list_topics without it)
    ensure_topics(prefixed, catalogue_requests(prefixed))
    return prefixed
