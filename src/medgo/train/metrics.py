"""Training telemetry: JSONL metrics per log step, tokens/s, achieved TFLOP/s, MFU, peak memory."""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback

# Dense bf16 peak TFLOP/s of common accelerators (vendor datasheets), for the MFU estimate.
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "A800": 312.0, "H800": 989.0, "L40S": 362.0,
               "A10": 125.0, "4090": 165.0, "V100": 125.0}


def peak_tflops() -> float | None:
    if not torch.cuda.is_available():
        return None  # CPUs vary too much for a table; achieved TFLOP/s is still reported
    name = torch.cuda.get_device_name(0)
    return next((v for k, v in PEAK_TFLOPS.items() if k in name), None)


def flops_per_token(model: torch.nn.Module, seq_len: int) -> float:
    """6·N for the matmuls of forward + backward, plus attention scores (Kaplan et al., 2020)."""
    cfg = getattr(model, "config", None)
    n = sum(p.numel() for p in model.parameters())
    layers = getattr(cfg, "num_hidden_layers", 0) or 0
    hidden = getattr(cfg, "hidden_size", 0) or 0
    return 6.0 * n + 12.0 * layers * hidden * seq_len


def peak_memory_mb() -> dict[str, float]:
    out = {"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    if torch.cuda.is_available():
        out["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return out


class TelemetryCallback(TrainerCallback):
    """Appends every Trainer log to <stage>/metrics.jsonl (main process) and measures throughput."""

    def __init__(self, out: Path, seq_len: int) -> None:
        self.path = out / "metrics.jsonl"
        self.seq_len = seq_len
        self.t0 = 0.0
        self.tokens0 = 0
        self.seconds = 0.0
        self.tokens = 0
        self.flops_per_token = 0.0

    def on_train_begin(self, args, state, control, model=None, **kw):  # type: ignore[override]
        self.t0 = time.time()
        self.tokens0 = int(state.num_input_tokens_seen or 0)
        if model is not None:
            self.flops_per_token = flops_per_token(model, self.seq_len)

    def on_log(self, args, state, control, logs=None, **kw):  # type: ignore[override]
        if not state.is_world_process_zero or not logs:
            return
        row = {"step": state.global_step, "epoch": state.epoch, "time": round(time.time() - self.t0, 3), **logs}
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row, default=float) + "\n")

    def on_train_end(self, args, state, control, **kw):  # type: ignore[override]
        self.seconds = time.time() - self.t0
        self.tokens = int(state.num_input_tokens_seen or 0) - self.tokens0

    def summary(self, world_size: int = 1) -> dict[str, Any]:
        tps = self.tokens / self.seconds if self.seconds > 0 else None
        achieved = tps * self.flops_per_token / 1e12 if tps else None
        peak = peak_tflops()
        return {
            "tokens_per_s": round(tps, 1) if tps else None,
            "achieved_tflops": float(f"{achieved:.4g}") if achieved else None,
            "mfu": float(f"{achieved / (peak * world_size):.4g}") if (achieved and peak) else None,
            **peak_memory_mb(),
        }
