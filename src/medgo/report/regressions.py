"""The report's regression sections, from the eval stage's `eval/regressions.json` (medgo.eval.regressions
computes it: each metric of each stage vs the stage before it and vs the base model, paired bootstrap 95%
interval over items): the flags at the top of the report, the full table, and `eval.regressions: fail`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from medgo.errors import MedgoError


class RegressionError(MedgoError):
    """`eval.regressions: fail` and a flagged regression: the run stops after the report is written (exit 3)."""

    exit_code = 3


def load(eval_dir: Path) -> list[dict[str, Any]]:
    p = eval_dir / "regressions.json"
    return json.loads(p.read_text(encoding="utf-8")).get("comparisons", []) if p.is_file() else []


def flagged(mode: str, comps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [] if mode == "off" else [c for c in comps if c.get("flagged")]


def flags_section(mode: str, comps: list[dict[str, Any]]) -> list[str]:
    """Top of the report: one line per flagged regression with its likely lever (nothing under `off`)."""
    flags = flagged(mode, comps)
    if not flags:
        return []
    lines = [f"## Regressions flagged ({len(flags)})", "",
             "A change for the worse whose bootstrap 95% interval over items excludes zero "
             f"(eval.regressions: {mode}; every comparison is in “Regressions across stages” below).", ""]
    for c in flags:
        lines.append(f"- {c['headline']}." + (f" Likely lever: {c['lever']}." if c.get("lever") else ""))
    return lines + [""]


def table_section(comps: list[dict[str, Any]]) -> list[str]:
    if not comps:
        return []
    lines = ["## Regressions across stages", "",
             "Each metric of each stage against the stage before it and against the base model: the change and "
             "its paired bootstrap 95% interval over items (held-out documents for perplexity, items of the "
             "classification check; the same resampled items for both models). A CI of “—”: no per-item values "
             "for that metric, so no interval and no flag. ⚑ = flagged.", ""]
    header = ["metric", "stage", "vs", "before", "after", "change", "95% CI of change", "items", "verdict"]
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for c in comps:
        t = c["text"]
        verdict = c["verdict"] + (" ⚑" if c.get("flagged") else "")
        cells = [c["label"], c["model_label"], c["baseline_label"], t["before"], t["after"], t["change"],
                 t["ci95"] or "—", c["items"] or "—", verdict]
        out.append("| " + " | ".join(str(x) for x in cells) + " |")
    return lines + out + [""]


def check(mode: str, comps: list[dict[str, Any]]) -> None:
    """Under `fail`, raise RegressionError naming every flagged regression and its lever."""
    flags = flagged(mode, comps)
    if mode != "fail" or not flags:
        return
    names = "; ".join(c["headline"] for c in flags)
    levers = " | ".join(dict.fromkeys(f"{c['model_label']}: {c['lever']}" for c in flags if c.get("lever")))
    raise RegressionError(
        f"eval.regressions=fail and {len(flags)} regression(s) flagged: {names}",
        hint=(f"likely levers: {levers}; " if levers else "")
        + "the report is written; set eval.regressions=warn to finish the run with the flags",
    )
