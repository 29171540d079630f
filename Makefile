# Two commands do everything: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CPU wheel: an unpinned torch would pull a multi-GB CUDA build.
TORCH_CPU ?= torch==2.13.0

.PHONY: install install-dev demo test test-all lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q $(TORCH_CPU)
	$(BIN)/pip install -q -e .

install-dev: $(BIN)/python
	$(BIN)/pip install -q $(TORCH_CPU)
	$(BIN)/pip install -q -e ".[dev]"

demo: install
	$(BIN)/medgo run configs/demo.yaml

test: install-dev
	$(BIN)/ruff check src tests
	$(BIN)/pytest -q -m "not slow"

test-all: install-dev
	$(BIN)/pytest -q

lint: install-dev
	$(BIN)/ruff check src tests

clean:
	rm -rf runs build dist src/*.egg-info
