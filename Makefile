# Two commands do everything: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CPU wheel: an unpinned torch would pull a multi-GB CUDA build.
TORCH_CPU ?= torch==2.13.0

.PHONY: install install-dev browser demo test test-all lint clean

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

# Headless Chromium for the web-page test (Debian package; the test skips with a reason when it is absent).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "chromium not installed: the browser test will be skipped"; }

test: install-dev browser
	$(BIN)/ruff check src tests tools
	$(BIN)/pytest -q -m "not slow"

test-all: install-dev browser
	$(BIN)/pytest -q

lint: install-dev
	$(BIN)/ruff check src tests tools

clean:
	rm -rf runs build dist src/*.egg-info
