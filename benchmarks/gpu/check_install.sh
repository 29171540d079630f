#!/usr/bin/env bash
# Does `pip install -e ".[gpu]"` resolve (current vLLM, DeepSpeed, flash-attn, bitsandbytes) without installing?
# pip reads the wheels' metadata from the index (no wheel downloads where the index serves PEP 658 metadata);
# flash-attn is an sdist whose setup.py imports torch, hence --no-build-isolation with any installed torch and
# FLASH_ATTENTION_SKIP_CUDA_BUILD=TRUE (metadata only, nothing is compiled). Prints the resolved versions.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
REPORT=$(mktemp)
FLASH_ATTENTION_SKIP_CUDA_BUILD=TRUE "$PY" -m pip install --dry-run --ignore-installed --no-build-isolation \
  --quiet --report "$REPORT" -e ".[gpu]"
"$PY" - "$REPORT" <<'PY'
import json, sys
names = {"vllm", "deepspeed", "flash_attn", "flash-attn", "bitsandbytes", "torch", "transformers", "trl", "accelerate", "peft"}
got = {i["metadata"]["name"]: i["metadata"]["version"] for i in json.load(open(sys.argv[1]))["install"]}
print(json.dumps({k: v for k, v in sorted(got.items()) if k.lower() in names}))
PY
