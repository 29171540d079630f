"""benchmarks/gpu/run.sh --cpu-dry-run: the GPU check's every step at tiny sizes on CPU, so the script works the
first time a GPU is available (vLLM generation and serving are recorded as skipped, with the reason)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_gpu_check_dry_run(tmp_path: Path) -> None:
    r = subprocess.run(["bash", str(REPO / "benchmarks/gpu/run.sh"), "--cpu-dry-run", "--out", str(tmp_path),
                        "--steps", "2"], capture_output=True, text=True, timeout=900,
                       env={**os.environ, "PYTHON": sys.executable})  # the interpreter running the tests
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["mode"] == "cpu-dry-run"
    for stage in ("pretrain", "sft", "preference"):
        s = res["stages"][stage]
        assert s["steps"] == 2 and s["tokens_per_s"] and s["first_loss"] is not None, (stage, s)
    assert res["generation"]["hf_nonempty"] == res["generation"]["prompts"]
    assert "skipped" in res["generation"]["vllm"]
    assert res["serve"]["ok"] and res["serve"]["engine"] == "hf"
    cfg = (tmp_path / "gpu-check.yaml").read_text()
    assert "packing: document" in cfg and "algorithm: dpo" in cfg
