# crowdlog: the two commands that matter are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
WITH_KAFKA := infra/with-services.sh --
WITH_SERVICES := infra/with-services.sh --postgres --registry --

.PHONY: help install demo test test-unit lint bench kafka-up kafka-down postgres-up postgres-down registry-up registry-down clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

install: $(INSTALLED) ## create the virtualenv and install crowdlog with its dev tools

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "crowdlog needs Python 3.11+ (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

demo: install ## start Kafka, create topics, ingest the sample feed, index it, show what landed
	bash infra/demo.sh

# The broker tests spend most of their time waiting on the pipeline (load stays under 1 on two
# cores), so they run on four pytest workers, one test at a time each. The 2,000-athlete crowd
# run goes first and alone: its cost bar measures how fast the stages react, which other tests
# competing for the two cores would change.
PYTEST := env CROWDLOG_REQUIRE_SERVICES=1 $(PY) -m pytest
test: install ## unit + integration tests against a real Kafka broker, PostgreSQL and Schema Registry
	bash infra/browser/install.sh
	$(WITH_SERVICES) bash -c '$(PYTEST) -m solo -rP && $(PYTEST) -m "not solo" -n 4 --dist load --maxschedchunk 1 --durations=12'

test-unit: install ## the tests that need no broker or database
	$(PY) -m pytest tests/unit streams sinks

lint: install ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: install ## throughput vs raw confluent-kafka; crowd stages on the runner vs a raw loop; consensus vs batch methods; crowd cost; models vs batch; lineage cost; registry framing; SASL_SSL vs PLAINTEXT
	$(WITH_KAFKA) $(PY) -m benchmarks.throughput
	$(WITH_KAFKA) $(PY) -m benchmarks.stages
	$(PY) -m benchmarks.crowd_accuracy
	$(PY) -m benchmarks.crowd_pipeline
	$(PY) -m benchmarks.prediction
	$(PY) -m benchmarks.lineage
	infra/with-services.sh --registry -- $(PY) -m benchmarks.framing
	$(PY) -m benchmarks.secured

kafka-up: ## start the local broker (assembled from Maven Central on first use)
	bash infra/kafka/kafka.sh up

kafka-down: ## stop the local broker
	bash infra/kafka/kafka.sh down

postgres-up: ## start the local PostgreSQL used by the tests
	bash infra/postgres/postgres.sh up

postgres-down: ## stop the local PostgreSQL
	bash infra/postgres/postgres.sh down

registry-up: install ## start the local Schema Registry (Apicurio, assembled from Maven Central on first use)
	bash infra/registry/registry.sh up

registry-down: ## stop the local Schema Registry (its schemas are in memory: they go with it)
	bash infra/registry/registry.sh down

clean: ## stop services and remove the virtualenv, local state and caches
	-bash infra/kafka/kafka.sh down --purge
	-bash infra/postgres/postgres.sh down --purge
	-bash infra/registry/registry.sh down --purge
	rm -rf $(VENV) .state build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis crowdlog.db
