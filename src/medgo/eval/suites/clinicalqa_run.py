"""CLI-facing entry points of the ClinicalQA suite: set selection, one call per command, review import."""

from __future__ import annotations

import json
from pathlib import Path

from medgo.eval.clinicalqa.convert import set_names
from medgo.eval.judge import DIMENSIONS, Judge
from medgo.eval.suites.clinicalqa import ClinicalQASpec, markdown, pairwise_markdown, run_clinicalqa
from medgo.inference.base import Engine


def clinicalqa_sets(tasks: str | None, data_dir: Path | None) -> list[str]:
    """'all' (the default): the project sample without shared data, every converted set with it."""
    if not tasks or tasks.strip().lower() == "all":
        return set_names() if data_dir is not None else ["sample"]
    return [t.strip() for t in tasks.split(",") if t.strip()]


def run_clinicalqa_cli(engine: Engine, out: Path, *, sets: list[str], data_dir: Path | None, limit: int | None,
                       scorers: list[str], baseline: Engine | None, judge: Judge | None, max_new_tokens: int,
                       labels: dict[str, str]) -> str:
    spec = ClinicalQASpec(sets=sets, data_dir=data_dir, limit=limit, scorers=scorers, max_new_tokens=max_new_tokens,
                          labels=labels)
    summary = run_clinicalqa(engine, spec, out, baseline=baseline, judge=judge)
    notes = []
    if judge is None and {"judge", "pairwise"} & set(scorers):
        notes.append("judge scores skipped: no --judge-url")
    if baseline is None and "pairwise" in scorers:
        notes.append("pairwise skipped: no --baseline")
    return markdown(summary) + "".join(f"({n})\n" for n in notes)


def write_review(sheet: Path, key: Path | None, out: Path | None) -> str:
    from medgo.eval.review import import_sheet

    res = import_sheet(sheet, key)
    lines = [f"Doctor review: {res['n']} questions from {sheet}", "", "| system | n | " + " | ".join(DIMENSIONS) + " |",
             "|---" * (len(DIMENSIONS) + 2) + "|"]
    for s, m in res["overall"].items():
        lines.append(f"| {s} | {m['n']} | " + " | ".join("–" if m[d] is None else f"{m[d]:.2f}" for d in DIMENSIONS)
                     + " |")
    md = "\n".join(lines + [""] + pairwise_markdown(res["pairwise"], "Doctor preference (model vs baseline)"))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "review.json").write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")
        (out / "review.md").write_text(md + "\n", encoding="utf-8")
    return md + "\n"
