#!/usr/bin/env bash
# Runs the fast training tests against the lowest transformers pyproject admits (the one vLLM pins today),
# installed into a side folder that shadows the venv's copy: nothing in the venv changes.
#   benchmarks/gpu/check_min_versions.sh [TRANSFORMERS_VERSION]   # default: pyproject's lower bound
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
LOW=$(sed -n 's/^ *"transformers>=\([0-9.]*\),.*/\1/p' pyproject.toml)
VER=${1:-$LOW}
SIDE=$(mktemp -d)
"$PY" -m pip install --quiet --no-deps --target "$SIDE" "transformers==$VER"
echo "transformers $VER in $SIDE"
PYTHONPATH="$SIDE" "$PY" -c "import transformers; print('running against transformers', transformers.__version__)"
PYTHONPATH="$SIDE" "$PY" -m pytest -q -p no:cacheprovider tests/train/test_packing.py tests/train/test_sft_packing.py \
  tests/train/test_fsdp_sharding.py tests/train/test_preference_algorithms.py
