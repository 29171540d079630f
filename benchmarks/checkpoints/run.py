"""`medgo run` on a release-layout checkpoint on CPU: wall time and peak RSS per stage.

A Qwen2-0.5B-shaped checkpoint at full width (hidden 896, 14 heads / 2 KV heads, FFN 4864, the 151,936-token
vocabulary, tied embeddings), cut to 2 layers, from `medgo model init`; then `medgo run configs/demo.yaml`
with `model.base` = that folder, `tokenizer.type: pretrained`, LoRA, and small step counts. Each command
runs in its own process; its resident memory is sampled every 0.2 s from /proc and attributed to the stage
the pipeline has announced on stderr. Wall time per stage is the manifest's.

    nice -n 5 .venv/bin/python benchmarks/checkpoints/run.py --out benchmarks/checkpoints/results.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MEDGO = [sys.executable, "-m", "medgo.cli.main"]
STAGE_RE = re.compile(r"\bstage (data|tokenizer|pretrain|sft|preference|eval|report)\b")

OVERRIDES = [
    "tokenizer.type=pretrained", "model.finetuning=lora", "model.dtype=float32",
    "pretrain.max_steps=6", "pretrain.per_device_batch_size=4", "pretrain.block_size=128", "pretrain.logging_steps=1",
    "sft.max_steps=6", "sft.per_device_batch_size=4", "sft.max_length=256", "sft.logging_steps=1",
    "preference.max_steps=3", "preference.per_device_batch_size=2", "preference.max_length=256",
    "preference.logging_steps=1",
    "eval.models=[init,sft,preference]", "eval.classification.methods=[loglik,generate]",
    "eval.classification.max_examples=24", "eval.max_heldout_docs=16",
    "eval.cblue=null", "eval.clinicalqa=null", "eval.exams=null",
]


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def run_sampled(cmd: list[str], first: str, log: Path) -> tuple[float, dict[str, float], int]:
    """Run `cmd`; returns (wall seconds, peak RSS MB per announced stage, exit code)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "120"}
    t0 = time.time()
    p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    current = [first]
    peaks: dict[str, int] = {}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            kb = _rss_kb(p.pid)
            peaks[current[0]] = max(peaks.get(current[0], 0), kb)
            time.sleep(0.2)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    with log.open("w", encoding="utf-8") as f:
        for line in p.stdout:  # type: ignore[union-attr]
            f.write(line)
            m = STAGE_RE.search(line)
            if m and "─" in line:
                current[0] = m.group(1)
    rc = p.wait()
    done.set()
    th.join()
    return time.time() - t0, {k: round(v / 1024, 1) for k, v in peaks.items()}, rc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--like", default="qwen2-0.5b")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=896)
    ap.add_argument("--work", type=Path, default=Path("/tmp/medgo-bench-checkpoints"))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/checkpoints/results.json")
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    a.work.mkdir(parents=True)
    ckpt, run = a.work / "ckpt", a.work / "run"

    init_cmd = [*MEDGO, "model", "init", "--like", a.like, "--layers", str(a.layers), "--hidden", str(a.hidden),
                "--out", str(ckpt)]
    init_s, init_peak, rc = run_sampled(init_cmd, "model_init", a.work / "init.log")
    if rc:
        sys.exit(f"model init failed, see {a.work / 'init.log'}")
    run_cmd = [*MEDGO, "run", "configs/demo.yaml", f"model.base={ckpt}", *OVERRIDES, "--out", str(run)]
    run_s, peaks, rc = run_sampled(run_cmd, "data", a.work / "run.log")
    if rc:
        sys.exit(f"medgo run failed ({rc}), see {a.work / 'run.log'}")

    from medgo.machine import cpu_name

    cfg = json.loads((ckpt / "config.json").read_text())
    stages = {"model_init": {"wall_s": round(init_s, 1), "peak_rss_mb": init_peak.get("model_init")}}
    for name in ("data", "tokenizer", "pretrain", "sft", "preference", "eval", "report"):
        m = json.loads((run / name / "manifest.json").read_text())
        row = {"wall_s": m.get("wall_time_s"), "peak_rss_mb": peaks.get(name), "status": m.get("status")}
        met = m.get("metrics") or {}
        for k in ("steps", "tokens_seen", "tokens_per_s", "first_loss", "last_loss"):
            if k in met:
                row[k] = met[k]
        stages[name] = row
    import torch
    import transformers
    import trl

    result = {
        "benchmark": "medgo run on a Qwen2-0.5B-shaped release-layout checkpoint (full width, 2 layers), LoRA, CPU",
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_at_end": [round(x, 1) for x in os.getloadavg()]},
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "trl": trl.__version__},
        "commands": [" ".join(["medgo", *init_cmd[3:]]), " ".join(["medgo", *run_cmd[3:]])],
        "checkpoint": {k: cfg[k] for k in ("architectures", "hidden_size", "intermediate_size", "num_hidden_layers",
                                           "num_attention_heads", "num_key_value_heads", "vocab_size",
                                           "tie_word_embeddings", "torch_dtype")},
        "stages": stages,
        "total_wall_s": round(init_s + run_s, 1),
        "peak_rss_mb": max(v for v in [*peaks.values(), *init_peak.values()] if v),
    }
    a.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(result["stages"], indent=1))


if __name__ == "__main__":
    main()
