# `make demo` and `make test` do their own set-up: a virtual environment in .venv with the locked dependencies.
# PYTHON is the interpreter to build it with (3.11 or newer), e.g. `make test PYTHON=python3.12`;
# a .venv made by another Python (or by one that no longer runs) is made again.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.bfs-installed

.DEFAULT_GOAL := install
.PHONY: demo test lint install clean bench new-venv i18n

# Every goal but clean needs $(PYTHON). It is checked when make reads this file, so that a refusal is one line.
ifneq ($(filter-out clean,$(or $(MAKECMDGOALS),$(.DEFAULT_GOAL))),)
PY_VERSION := $(shell $(PYTHON) --version 2>&1 | head -n 1)
PY_OK := $(shell $(PYTHON) -c 'import sys; print(sys.version_info >= (3, 11))' 2>/dev/null)
EXAMPLE := make $(or $(firstword $(MAKECMDGOALS)),$(.DEFAULT_GOAL)) PYTHON=python3.12
ifneq ($(PY_OK),True)
ifeq ($(firstword $(PY_VERSION)),Python)
$(error bfs needs Python 3.11 or newer, but $(PYTHON) is $(PY_VERSION): pass a newer one, e.g. `$(EXAMPLE)`)
else
$(error $(PYTHON) does not run as Python ($(or $(PY_VERSION),no output)): bfs needs Python 3.11 or newer, pass one, e.g. `$(EXAMPLE)`)
endif
endif

# Which Python this is: its version and installation, e.g. "3.11.7 (/usr)". Compared with the Python that made .venv.
PY_ID := import sys; print("%d.%d.%d (%s)" % (*sys.version_info[:3], sys.base_prefix))
WANTED := $(shell $(PYTHON) -c '$(PY_ID)' 2>/dev/null)
ifneq ($(wildcard $(VENV)/pyvenv.cfg),)
MADE_BY := $(shell $(BIN)/python -c '$(PY_ID)' 2>/dev/null)
ifneq ($(MADE_BY),$(WANTED))
$(STAMP): new-venv
endif
endif
endif

new-venv:
	@echo "$(VENV) was made by $(if $(MADE_BY),Python $(MADE_BY),a Python that no longer runs), but $(PYTHON) is Python $(WANTED): making $(VENV) again."
	rm -rf $(VENV)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/bfs demo

test: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

# The words people read: extract the messages from the code and templates, merge them into the English catalogue
# (Swedish is the source language), then compile it. Fill in each new msgstr in messages.po and run it again.
i18n: $(STAMP)
	mkdir -p build
	$(BIN)/pybabel --quiet extract -F babel.cfg --no-location --sort-output --omit-header -o build/messages.pot .
	$(BIN)/pybabel --quiet update -i build/messages.pot -d bfs_pipeline/locale -D messages -l en --no-fuzzy-matching --ignore-obsolete --width 120
	$(BIN)/pybabel compile --statistics -d bfs_pipeline/locale -D messages

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Build artefacts and caches only. .venv stays (it is made again when needed), and so does bfs-home: it holds the database and the hash key.
clean:
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
	find . \( -path ./$(VENV) -o -path ./bfs-home -o -path ./.git \) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
