# Two commands do everything: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CPU wheel: an unpinned torch would pull a multi-GB CUDA build.
TORCH_CPU ?= torch==2.13.0

# llama.cpp for the GGUF tests: llama-cpp-python builds from source (~7 min on 2 cores), so the built wheel is
# kept in a wheelhouse outside the checkout and reused by every later `make test` on this machine.
WHEELHOUSE ?= $(HOME)/.cache/medgo/wheels
LLAMACPP ?= llama-cpp-python>=0.3

.PHONY: install install-dev llamacpp browser deid-tagger deid-terms demo test test-all lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q $(TORCH_CPU)
	$(BIN)/pip install -q -e .

install-dev: $(BIN)/python
	$(BIN)/pip install -q $(TORCH_CPU)
	$(BIN)/pip install -q -e ".[dev]"

llamacpp: $(BIN)/python
	@mkdir -p $(WHEELHOUSE)
	@ls $(WHEELHOUSE)/llama_cpp_python-*.whl >/dev/null 2>&1 || { echo "building llama-cpp-python once (~7 min)"; \
	  CMAKE_BUILD_PARALLEL_LEVEL=2 $(BIN)/pip wheel -q --no-deps -w $(WHEELHOUSE) "$(LLAMACPP)"; }
	$(BIN)/pip install -q "$$(ls $(WHEELHOUSE)/llama_cpp_python-*.whl | tail -1)[server]"

# The learned de-identification name tagger, trained once (two members, about 45 min on 2 free cores) on the shared corpora's record
# text into a cache outside the checkout: that text is research-only, so the weights are never committed.
MEDGO_DATA ?= ../shared/data
DEID_TAGGER ?= $(HOME)/.cache/medgo/deid-tagger/shared
# The shipped recipe (benchmarks/data/README.md): v20, the spent check sets through blind28 (blind29 held out) and no
# planted terms.
DEID_TAGGER_RECIPE ?= --no-negatives --hold-out blind29
deid-tagger: install-dev
	@test -f $(DEID_TAGGER)/member1/tagger.pt || $(BIN)/python benchmarks/data/train_tagger.py --data $(MEDGO_DATA) \
	  --out $(DEID_TAGGER) $(DEID_TAGGER_RECIPE)

# A clinical term list for the de-identifier (`medgo data deid --terms`): CMeEE's and cMedQANER's annotated
# entities and a drug formulary's names and aliases (CareGPT drug.json) that open with a surname character, and the
# words the consultation and record text uses as drugs (--mine: the files of train_tagger.py MINE). Built from the
# research-only corpora into the cache, never committed.
DEID_TERMS ?= $(HOME)/.cache/medgo/deid-terms/shared.txt
DEID_MINE := $(addprefix $(MEDGO_DATA)/corpora/,$(shell grep -v '^\#' benchmarks/data/deid_mine.txt))
deid-terms: install-dev
	@test -f $(DEID_TERMS) || $(BIN)/medgo data deid-terms --out $(DEID_TERMS) \
	  --in $(MEDGO_DATA)/cblue/honeyandme_knowledge/data/CMeEE-V2/CMeEE-V2_dev.json \
	  --in $(MEDGO_DATA)/cblue/Sherlock-coder_CBLUE/data/CMeEE/CMeEE_dev.json \
	  --in $(MEDGO_DATA)/corpora/ChineseBLUE/data/cMedQANER/train.json \
	  --in $(MEDGO_DATA)/corpora/ChineseBLUE/data/cMedQANER/dev.json \
	  --in $(MEDGO_DATA)/corpora/ChineseBLUE/data/cMedQANER/test.json \
	  --in $(MEDGO_DATA)/corpora/CareGPT/data/drug.json $(addprefix --mine ,$(DEID_MINE))

demo: install
	$(BIN)/medgo run configs/demo.yaml

# Headless Chromium for the web-page test (Debian package; the test skips with a reason when it is absent).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "chromium not installed: the browser test will be skipped"; }

test: install-dev llamacpp browser
	$(BIN)/ruff check src tests tools
	$(BIN)/pytest -q -m "not slow"

test-all: install-dev llamacpp browser
	$(BIN)/pytest -q

lint: install-dev
	$(BIN)/ruff check src tests tools

clean:
	rm -rf runs build dist src/*.egg-info
