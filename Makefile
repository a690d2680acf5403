# digitnet: `make run` starts the app, `make test` runs the whole test suite.
# Both create the virtual environment they need (.venv) on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8501

.PHONY: run test lint format bench bench-cv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.app: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.app

## run: set up and launch the app on http://localhost:$(PORT)
run: $(VENV)/.app
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m streamlit run streamlit_app.py --server.port $(PORT)

## test: set up and run every test (browser tests use $$CHROMIUM, /usr/bin/chromium, or Playwright's own)
test: $(VENV)/.dev
	@if [ -z "$$CHROMIUM" ] && [ ! -x /usr/bin/chromium ]; then \
		echo "no system Chromium: letting Playwright fetch its own"; \
		$(BIN)/python -m playwright install chromium; \
	fi
	$(BIN)/python -m pytest

lint: $(VENV)/.dev
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: the speed and accuracy benchmarks (minutes; writes benchmarks/RESULTS.md)
bench: $(VENV)/.dev
	$(BIN)/python -m pip install -q -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/core.py
	$(BIN)/python benchmarks/drawings.py
	$(BIN)/python benchmarks/teach.py
	$(BIN)/python benchmarks/app_check.py

## bench-cv: writer-level cross-validation of best over the 30 pen-drawing writers (3 trainings)
bench-cv: $(VENV)/.dev
	$(BIN)/python benchmarks/drawings.py --cv $${TMPDIR:-/tmp}/digitnet-cv

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
