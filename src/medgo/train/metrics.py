"""Training telemetry: JSONL metrics per log step, tokens/s, achieved TFLOP/s, MFU, peak memory."""

from __future__ import annotations

import json
import logging
import resource
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
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


class StageProgress(TrainerCallback):
    """What a newcomer sees while a training stage runs: one progress line (step, loss, tokens/s, ETA),
    redrawn in place on a terminal and printed once at the end elsewhere. The trainer's raw log dicts go
    to <stage>/train.log instead of the console (`--verbose` / MEDGO_VERBOSE=1 keeps transformers' own
    output as well)."""

    def __init__(self, name: str, out: Path, console=None) -> None:
        from medgo.log import console as default_console

        self.name = name
        self.log_path = out / "train.log"
        self.console = console or default_console
        self.t0 = 0.0
        self.tokens0 = 0
        self.loss: float | None = None
        self.live = None

    def on_train_begin(self, args, state, control, **kw):  # type: ignore[override]
        self.t0 = time.time()
        self.tokens0 = int(state.num_input_tokens_seen or 0)
        if state.is_world_process_zero and self.console.is_terminal:
            from rich.live import Live

            self.live = Live(self.line(state), console=self.console, refresh_per_second=2, transient=False)
            self.live.start()

    def line(self, state) -> str:
        step, total = state.global_step, state.max_steps or 0
        dt = time.time() - self.t0
        tokens = int(state.num_input_tokens_seen or 0) - self.tokens0
        tps = f"{tokens / dt:,.0f} tokens/s" if dt > 0 and tokens else "- tokens/s"
        eta = dt / step * (total - step) if step and total > step else 0.0
        loss = f"loss {self.loss:.4g}" if self.loss is not None else "loss -"
        return f"{self.name}: step {step}/{total}, {loss}, {tps}, ETA {eta:,.0f}s"

    def on_step_end(self, args, state, control, **kw):  # type: ignore[override]
        if self.live is not None:
            self.live.update(self.line(state))

    def on_log(self, args, state, control, logs=None, **kw):  # type: ignore[override]
        if not state.is_world_process_zero or not logs:
            return
        if "loss" in logs:
            self.loss = float(logs["loss"])
        with self.log_path.open("a", encoding="utf-8") as f:
            f.write(f"step {state.global_step}: {json.dumps(logs, default=float)}\n")

    def on_train_end(self, args, state, control, **kw):  # type: ignore[override]
        if not state.is_world_process_zero:
            return
        if self.live is not None:
            self.live.update(self.line(state))
            self.live.stop()
            self.live = None
        else:
            self.console.print(self.line(state))


def use_stage_progress(trainer, name: str, out: Path) -> None:
    """Unless verbose: the trainer's printed log dicts and tqdm bar give way to StageProgress."""
    from medgo.log import verbose

    if verbose():
        return
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(StageProgress(name, out))


@contextmanager
def quiet_stage(out: Path) -> Iterator[None]:
    """Unless verbose: library progress bars (weight loading, dataset maps, shard writing) off, and library
    warnings and log records written to <stage>/train.log rather than the console."""
    from medgo.log import verbose

    if verbose():
        yield
        return
    import datasets
    from transformers.utils import logging as hf_logging

    out.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(out / "train.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    libs = [logging.getLogger(n) for n in ("transformers", "trl", "peft", "datasets", "accelerate")]
    saved = [(lg, lg.propagate) for lg in libs]
    bars = hf_logging.is_progress_bar_enabled(), datasets.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    datasets.disable_progress_bars()
    for lg in libs:
        lg.addHandler(handler)
        lg.propagate = False

    def to_log(message, category, filename, lineno, file=None, line=None):
        handler.stream.write(warnings.formatwarning(message, category, filename, lineno, line))
        handler.flush()

    try:
        with warnings.catch_warnings():
            warnings.showwarning = to_log
            yield
    finally:
        for lg, prop in saved:
            lg.removeHandler(handler)
            lg.propagate = prop
        handler.close()
        if bars[0]:
            hf_logging.enable_progress_bar()
        if bars[1]:
            datasets.enable_progress_bars()
