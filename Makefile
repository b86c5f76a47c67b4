# ipsbook — make book · make test (· make data · make bench · make clean)
#
#   make book                  run every chapter (profile quick) and build the HTML book
#   make book PROFILE=full     the frozen reference runs of results/full (executes nothing)
#   make book PROFILE=paper    the papers' own settings (hours)
#   make test                  the whole test suite (smoke-profile notebook runs + nbval)
#   make check-book            open the built book in headless Chromium and check what readers see
#
# Every target that needs Python first brings .venv up to date with pyproject.toml.

SHELL := bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

PROFILE ?= quick
JOBS ?= 2
# a system Python 3.11 creates the venv (any 3.11/3.12 works: see requires-python)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
# extra pip arguments, e.g. PIP_ARGS='--extra-index-url https://download.pytorch.org/whl/cpu'
# where no CPU build of torch==2.13.0 is on the configured index
PIP_ARGS ?=
# extra pytest arguments, e.g. PYTEST_ARGS='-k packaging -x'
PYTEST_ARGS ?=

BIN := $(VENV)/bin
STAMP := $(VENV)/.ipsbook-installed

# The venv's tools come first: papermill and nbval start the kernel named "python3", whose
# kernelspec runs whatever `python` is first on PATH.
export PATH := $(abspath $(BIN)):$(PATH)

# Real datasets: $IPSBOOK_DATA_DIR if set, else ../shared/data where that folder exists.
ifeq ($(origin IPSBOOK_DATA_DIR),undefined)
  ifneq ($(wildcard ../shared/data),)
    export IPSBOOK_DATA_DIR := $(abspath ../shared/data)
  endif
endif

.PHONY: help venv lock book html test check-book bench data data-readme clean clean-cache distclean status

help: ## list the targets
	@echo "ipsbook — PROFILE=$(PROFILE) (smoke|quick|full|paper), JOBS=$(JOBS)"
	@echo
	@grep -E '^[a-z][a-zA-Z_-]*:.*## ' $(MAKEFILE_LIST) \
	  | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'
	@echo
	@echo "  variables: PROFILE, JOBS, PYTHON, VENV, PIP_ARGS, PYTEST_ARGS, IPSBOOK_DATA_DIR"

venv: $(STAMP) ## create .venv and install ipsbook[book,test,bench] (only when pyproject.toml changed)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml requirements-lock.txt | $(BIN)/python
	$(BIN)/python -m pip install $(PIP_ARGS) -c requirements-lock.txt -e '.[book,test,bench]'
	touch $@

lock: venv ## re-pin requirements-lock.txt to what the venv has (after changing pyproject.toml)
	{ sed -n '1,2p' requirements-lock.txt; $(BIN)/python -m pip freeze --exclude-editable \
	  | grep -v '^ipsbook' | sed 's/+cpu//'; } > requirements-lock.txt.new
	mv requirements-lock.txt.new requirements-lock.txt

book: venv ## run all chapters under PROFILE (cached; PROFILE=full renders results/full, runs nothing), then build the HTML book
ifneq ($(PROFILE),full)
	$(BIN)/ipsbook run all --profile $(PROFILE) -j $(JOBS)
endif
	$(BIN)/ipsbook build --profile $(PROFILE) --no-html
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "book: $(CURDIR)/_build/html/index.html (profile $(PROFILE))"

html: venv ## rebuild only the HTML from the chapters already in book/chapters
	$(BIN)/jupyter-book build . -W -n --keep-going

test: venv ## run the whole test suite (notebooks under the smoke profile, nbval, unit tests)
	@echo "IPSBOOK_DATA_DIR=$${IPSBOOK_DATA_DIR:-<unset>}"
	$(BIN)/python -m pytest --durations=20 $(PYTEST_ARGS)

check-book: venv ## check _build/html in headless Chromium; screenshots in _build/screenshots
	@test -f _build/html/index.html || { echo "check-book: _build/html is missing: run 'make book' (or 'make book PROFILE=smoke') first" >&2; exit 1; }
	$(BIN)/python -m ipsbook.book.bookcheck _build/html

bench: venv ## speed and memory benchmarks (benchmarks/run.py; results in benchmarks/results/)
	@test -f benchmarks/run.py || { echo "benchmarks/run.py does not exist yet" >&2; exit 1; }
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/bench_edm.py
	$(BIN)/python benchmarks/bench_dml.py
	$(BIN)/python benchmarks/bench_mtloc.py
	$(BIN)/python benchmarks/bench_mst.py

define VERIFY_DATA
import importlib, os, sys
print("IPSBOOK_DATA_DIR =", os.environ.get("IPSBOOK_DATA_DIR", "<unset>"))
try:
    data = importlib.import_module("ipsbook.data")
except ModuleNotFoundError as exc:
    if exc.name not in ("ipsbook.data",):
        raise
    print("ipsbook.data is not there yet: nothing to verify")
    sys.exit(0)
verify_all = getattr(data, "verify_all", None)
if verify_all is None:
    print("ipsbook.data.verify_all() does not exist yet: checksums not verified")
    sys.exit(0)
result = verify_all()
if result is not None:
    print(result)
print("data: every registered file verified")
endef
export VERIFY_DATA

status: venv ## per chapter and profile: current, stale (and why) or missing; results/ checked against its manifests
	$(BIN)/ipsbook status --verify

data: venv ## show IPSBOOK_DATA_DIR and verify the sha256 of every registered data file
	$(BIN)/python -c "$$VERIFY_DATA"

data-readme: venv ## write data/README.md from the dataset registry (sources, licences, sha256)
	$(BIN)/python -c "import ipsbook.data as d; open('data/README.md', 'w').write(d.readme())"

clean-cache: ## remove the trained artefacts kept for reuse (.cache/: paper C's experts, checkpoints)
	rm -rf .cache

clean: ## remove runs, the built book, generated pages and caches (keeps .venv, data/ and .cache/)
	rm -rf runs _build book/chapters book/scorecard.md book/performance.md book/_generated
	rm -rf .pytest_cache .hypothesis .ruff_cache .jupyter_cache jupyter_execute
	find . -path ./$(VENV) -prune -o -type d \
	  \( -name __pycache__ -o -name .ipynb_checkpoints \) -print0 | xargs -0 rm -rf

distclean: clean ## clean, and remove .venv too
	rm -rf $(VENV)
