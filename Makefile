# digitnet: `make run` starts the app, `make test` runs the whole test suite.
# Both create the virtual environment they need (.venv) on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
# The address the app listens on: this computer only. `make run ADDRESS=0.0.0.0` serves
# it to the other computers of the network too.
ADDRESS ?= 127.0.0.1

.PHONY: run test screenshots lint format bench bench-cv clean

$(BIN)/python:
	@echo "Creating the virtual environment $(VENV) (once)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

$(VENV)/.app: requirements.txt | $(BIN)/python
	@echo "Installing the app's packages into $(VENV) (once; about a minute)"
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	@echo "Installing the app's and the tests' packages into $(VENV) (once; about a minute)"
	$(BIN)/python -m pip install -r requirements-dev.txt
	touch $@ $(VENV)/.app

## run: set up and launch the app on http://localhost:$(PORT) (ADDRESS=0.0.0.0: for others too)
run: $(VENV)/.app
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m streamlit run streamlit_app.py \
		--server.address $(ADDRESS) --server.port $(PORT)

## test: set up and run every test (browser tests use $$CHROMIUM, /usr/bin/chromium, or Playwright's own)
test: $(VENV)/.dev
	@if [ -z "$$CHROMIUM" ] && [ ! -x /usr/bin/chromium ]; then \
		echo "no system Chromium: letting Playwright fetch its own"; \
		$(BIN)/python -m playwright install chromium; \
	fi
	$(BIN)/python -m pytest

## screenshots: refresh README's screenshots (docs/screenshots/) with the browser tests
screenshots: $(VENV)/.dev
	DIGITNET_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -m browser tests/browser

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
