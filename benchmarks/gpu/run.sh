#!/usr/bin/env bash
# The GPU check (issue #14): on a machine with one CUDA GPU, in under ~8 minutes after the install,
#   benchmarks/gpu/run.sh                 # installs the gpu extra if missing, runs bench.py, records results.json
#   benchmarks/gpu/run.sh --cpu-dry-run   # the same steps at tiny sizes on CPU (run by the default tests)
# Options: --out DIR (default runs/gpu-check, or a temp folder for the dry run), --steps N.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-}
if [ -z "$PY" ]; then if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi; fi
MODE=gpu OUT="" ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu-dry-run) MODE=cpu ;;
    --out) OUT="$2"; shift ;;
    --steps) ARGS+=(--steps "$2"); shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [ "$MODE" = cpu ]; then
  OUT=${OUT:-$(mktemp -d)}
  exec "$PY" benchmarks/gpu/bench.py --cpu-dry-run --out "$OUT" "${ARGS[@]}"
fi
OUT=${OUT:-runs/gpu-check}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
if ! "$PY" -c "import vllm, deepspeed, bitsandbytes" 2>/dev/null; then
  # first what pins torch (vLLM), so that flash-attn below builds against the torch that stays
  "$PY" -m pip install -e . "vllm>=0.10" "deepspeed>=0.16" "bitsandbytes>=0.45"
fi
if ! "$PY" -c "import flash_attn" 2>/dev/null; then
  # flash-attn's setup.py fetches a prebuilt wheel matching torch/CUDA/Python, else compiles (long): no build
  # isolation, so it sees the installed torch. Without it bench.py records the fallback (sdpa) and goes on.
  "$PY" -m pip install "flash-attn>=2.7" --no-build-isolation || echo "flash-attn not installed: sdpa fallback"
fi
exec timeout 600 "$PY" benchmarks/gpu/bench.py --out "$OUT" --record benchmarks/gpu/results.json "${ARGS[@]}"
