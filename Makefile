# The two commands a new user needs: `make run` and `make test`. Both set up what is missing.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
MODEL := models/admissions.tar.gz
SPACY_MODEL := models/spacy/en_lookup
TRAINING_INPUTS := config.yml domain.yml $(wildcard data/*.yml)

export TF_CPP_MIN_LOG_LEVEL ?= 2
export SQLALCHEMY_SILENCE_UBER_WARNING ?= 1
export PYTHONWARNINGS ?= ignore::DeprecationWarning

.PHONY: setup widget browser train run cluster cluster-upgrade shell test test-quick mutation lint format lock bench insights clean

setup: $(VENV)/.installed $(SPACY_MODEL)/meta.json widget

# The chat widget's npm packages (quick when web/package-lock.json has not changed).
widget:
	@scripts/setup_web.sh

# The same, plus Debian's chromium for the browser tests.
browser:
	@scripts/setup_web.sh --browser

$(VENV)/.installed: requirements-dev.lock scripts/setup.sh
	@scripts/setup.sh

$(SPACY_MODEL)/meta.json: $(VENV)/.installed scripts/build_spacy_model.py
	$(PY) scripts/build_spacy_model.py $(SPACY_MODEL)

train: $(MODEL)

# Retrained only when the data, domain or config changed; knowledge/ never needs it.
$(MODEL): $(TRAINING_INPUTS) $(SPACY_MODEL)/meta.json
	$(RASA) train --fixed-model-name admissions --out models --quiet

run: setup train
	@scripts/run.sh

# Several Rasa and action servers behind nginx, with Redis and PostgreSQL, on this machine
# (README "Several servers: `make cluster`"). Same addresses and settings as `run`.
cluster: setup train
	@$(PY) -m deploy.cluster

# The running cluster's Rasa servers restarted one at a time on the model `train` just made.
cluster-upgrade: train
	@$(PY) -m deploy.cluster upgrade

shell: setup train
	@scripts/run.sh shell

# Lint first: a style or type error fails in seconds, not after the servers' suites.
test: setup lint browser train
	$(PY) -m pytest

# The unit suites only (no servers, no training, no browser): seconds, for while you work.
test-quick: setup train
	$(PY) -m pytest -m "not slow" -q

# Mutation testing of actions/ and channels/ against the quick suites (config: [tool.mutmut] in
# pyproject.toml; how to read it: tests/README.md). Not part of `make test`: about an hour.
# Fresh each time: mutmut keeps a verdict until the mutated function changes, so a test added
# since the last run would not be credited. Niced, two workers: the machine is shared.
mutation: $(VENV)/.installed $(SPACY_MODEL)/meta.json $(MODEL)
	rm -rf mutants
	nice -n 15 $(VENV)/bin/mutmut run --max-children 2
	$(PY) scripts/mutation_report.py

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Regenerate both locks from pyproject.toml (existing pins are kept unless they must move).
lock:
	$(VENV)/bin/uv pip compile pyproject.toml --python $(PY) --no-header --no-annotate -o requirements.lock
	$(VENV)/bin/uv pip compile pyproject.toml --python $(PY) --no-header --no-annotate --extra test --extra dev -o requirements-dev.lock

# Ours against the `rasa init` baseline at 1, 10 and 50 visitors; see README "Benchmark".
bench: setup train
	$(PY) -m bench $(BENCH_ARGS)

# The staff insights report (README "Staff insights"): the last 30 days unless INSIGHTS_ARGS says otherwise,
# e.g. make insights INSIGHTS_ARGS="--since 2026-09-01 --until 2026-09-30 --out results/september".
INSIGHTS_ARGS ?= --since $(shell date -d '30 days ago' +%F) --out results/insights
insights: $(VENV)/.installed
	$(PY) -m actions.insights $(INSIGHTS_ARGS)

# One long conversation: turn 1 against turns 50-300; see bench/README.md "Turn cost".
.PHONY: bench-turns
bench-turns: setup train
	$(PY) -m bench.turns $(BENCH_ARGS)

clean:
	rm -rf models runtime results .pytest_cache mutants
