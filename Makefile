# Vigie — run `make help` for the list of targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv with the project and its dev tools installed

run: install ## Start the whole stack locally (SQLite + local Redis + API + worker + demo data)
	@bash scripts/run.sh

test: install ## Set up and run the whole suite (lint, types, layers, unit, integration, API, browser)
	@bash scripts/test.sh

lint: install ## ruff (lint + format check), mypy, import-linter
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: install ## Format and autofix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

eval: install ## Detection quality: per-category precision/recall vs a TF-IDF baseline, PR curve PNG
	$(BIN)/vigie evaluate --output-dir var/eval

train: install ## Retrain the shipped model artifact from fixtures (+ public dev data when present)
	$(BIN)/vigie train

bench: install ## Speed: scorer latency/throughput vs baseline, API submit latency and pipeline throughput
	@bash scripts/bench.sh

load: install ## Sustained load on a real stack (SQLite, PostgreSQL when reachable): rate, API and verdict p50/p99
	@bash scripts/load.sh $(ARGS)

chaos: install ## Faults under load (worker SIGKILL, Redis restart, DB outage, webhook outage): nothing lost or doubled
	@bash scripts/chaos.sh $(ARGS)

fuzz: install ## Hostile input in full: API schema fuzzing, scoring properties and fuzzing, malformed bodies, auth
	VIGIE_FUZZ=full $(BIN)/pytest tests/hostile -q $(ARGS)

clean: ## Remove local state (var/) and caches, keep .venv
	rm -rf var .pytest_cache .mypy_cache .ruff_cache

.PHONY: help install run test lint fmt eval train bench load chaos fuzz clean
