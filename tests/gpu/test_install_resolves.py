"""Opt-in checks that need the package index (CI jobs with network: MEDGO_CHECK_INSTALL=1):
`pip install --dry-run -e ".[gpu]"` resolves with current vLLM, DeepSpeed, flash-attn and bitsandbytes, and the
fast training tests pass on pyproject's lowest transformers."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.environ.get("MEDGO_CHECK_INSTALL") != "1", reason="needs the package index")]


def test_gpu_extra_resolves() -> None:
    r = subprocess.run(["bash", str(REPO / "benchmarks/gpu/check_install.sh")], capture_output=True, text=True,
                       timeout=1200)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert {"vllm", "deepspeed", "bitsandbytes", "transformers", "torch"} <= set(got)
    assert any(k.replace("-", "_") == "flash_attn" for k in got)


def test_fast_train_tests_on_the_lowest_transformers() -> None:
    r = subprocess.run(["bash", str(REPO / "benchmarks/gpu/check_min_versions.sh")], capture_output=True,
                       text=True, timeout=3600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
