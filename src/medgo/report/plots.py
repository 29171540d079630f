"""Matplotlib figures for the report (English labels: CJK fonts may be missing on servers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def loss_curves(histories: dict[str, list[dict[str, Any]]], out: Path) -> Path | None:
    stages = [s for s, h in histories.items() if any("loss" in r for r in h)]
    if not stages:
        return None
    fig, axes = plt.subplots(1, len(stages), figsize=(4.2 * len(stages), 3.2), squeeze=False)
    for ax, s in zip(axes[0], stages, strict=True):
        pts = [(r["step"], r["loss"]) for r in histories[s] if "loss" in r and "step" in r]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=".", lw=1.2)
        ax.set_title(f"{s} training loss")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def eval_bars(results: dict[str, dict[str, Any]], keys: list[tuple[str, str]], out: Path) -> Path | None:
    keys = [(k, label) for k, label in keys if any(k in r for r in results.values())]
    if not keys or not results:
        return None
    models = list(results)
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.2), squeeze=False)
    for ax, (k, label) in zip(axes[0], keys, strict=True):
        vals = [results[m].get(k, float("nan")) for m in models]
        bars = ax.bar(models, vals, color="#4C72B0")
        ax.bar_label(bars, fmt="%.3g", fontsize=8)
        ax.set_title(label)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
