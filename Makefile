# voicecart developer commands. `make run` and `make test` are the two quick-start commands.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test browser bench export-model clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: $(STAMP)  ## set up, migrate, seed the demo data and serve on 127.0.0.1
	$(BIN)/voicecart db upgrade
	$(BIN)/voicecart seed --demo
	$(BIN)/voicecart serve

test: $(STAMP) browser  ## set up and run lint, type checks and the whole test suite
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

browser:  ## make sure Debian's chromium is there for the browser tests (installs it as root)
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "chromium not found and not root: the browser tests will be skipped"; \
	  fi; }

bench: $(STAMP)  ## run every benchmark under bench/ (matching ones read ../shared)
	$(BIN)/python bench/bench_skill.py
	$(BIN)/python bench/bench_match.py
	$(BIN)/python bench/bench_reorder.py

export-model: $(STAMP)  ## rewrite skill-package/ from the interaction model and the catalogue
	$(BIN)/voicecart export-model

clean:  ## remove the virtualenv and the embedded database
	rm -rf $(VENV) instance/voicecart.db
