# `make demo` and `make test` create .venv when it is missing; both are fast once it exists.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.ftaudit-installed
DEMO := demo-output
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install demo lint test bench clean

install: $(STAMP)

# torch first, pinned: an unpinned torch pulls a multi-GB CUDA build here.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p $(DEMO)
	$(VENV)/bin/ftaudit audit sample_data/support_train.jsonl --production sample_data/support_production.jsonl \
		--context monthly_volume=250000 --annotate $(DEMO)/annotations.jsonl --format json -o $(DEMO)/report.json --quiet
	$(VENV)/bin/ftaudit render $(DEMO)/report.json --format markdown -o $(DEMO)/scorecard.md
	$(VENV)/bin/ftaudit render $(DEMO)/report.json --format html -o $(DEMO)/scorecard.html
	$(VENV)/bin/ftaudit render $(DEMO)/report.json
	@echo "Wrote $(DEMO)/scorecard.md, $(DEMO)/scorecard.html, $(DEMO)/report.json and $(DEMO)/annotations.jsonl"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: lint
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(DEMO) .ftaudit-cache .pytest_cache
