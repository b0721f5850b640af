# The README's two commands: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test test-slow bench eval-research clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/system-deps.sh
	bash scripts/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# Bytecode for our own modules (pip compiles only what it copies): every command starts without
	# compiling them, even where PYTHONDONTWRITEBYTECODE keeps Python from caching it on its own.
	$(BIN)/python -m compileall -q src
	touch $@

demo: setup
	$(BIN)/creative demo

# Two workers, each test file on one of them (its module-scoped servers and Chromium start once).
test: setup
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

test-slow: setup
	CREATIVE_SLOW_TESTS=1 $(BIN)/python -m pytest -q -m slow

bench: setup
	$(BIN)/python benchmarks/run.py

# Development tool, not part of `make test`: scores research on the saved real-page set kept
# beside the repository (../shared/research-eval), when that folder exists.
RESEARCH_EVAL ?= ../shared/research-eval
eval-research: setup
	@if [ -f "$(RESEARCH_EVAL)/score.py" ]; then \
		$(PYTHON) "$(RESEARCH_EVAL)/score.py" --creative $(BIN)/creative $(EVAL_ARGS); \
	else \
		echo "eval-research: no evaluation set at $(RESEARCH_EVAL) (set RESEARCH_EVAL=DIR to point at one); nothing scored."; \
	fi

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
