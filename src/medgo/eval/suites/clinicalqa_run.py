"""The ClinicalQA suite: set selection, the Suite the CLI and the eval stage use, doctor-review import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from medgo.config.schema import ClinicalQAEvalConfig
from medgo.eval.clinicalqa.convert import set_names
from medgo.eval.judge import DIMENSIONS
from medgo.eval.suite import EvalOptions, StageInputs
from medgo.eval.suites.clinicalqa import ClinicalQASpec, markdown, pairwise_markdown, run_clinicalqa
from medgo.inference.base import Engine


def clinicalqa_sets(tasks: str | None, data_dir: Path | None) -> list[str]:
    """'all' (the default): the project sample without shared data, every converted set with it."""
    if not tasks or tasks.strip().lower() == "all":
        return set_names() if data_dir is not None else ["sample"]
    return [t.strip() for t in tasks.split(",") if t.strip()]


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


class ClinicalQASuite:
    """Clinical questions scored against references, by a judge, and pairwise against a baseline."""

    name = "clinicalqa"
    merge_prefix = None

    def spec(self, opts: EvalOptions) -> ClinicalQASpec:
        return ClinicalQASpec(sets=clinicalqa_sets(opts.tasks, opts.data_dir), data_dir=opts.data_dir, limit=opts.limit,
                              scorers=list(opts.scorers), max_new_tokens=opts.max_new_tokens or 512,
                              labels=dict(opts.labels), baseline=opts.baseline, judge=opts.judge)

    def run(self, engine: Engine, spec: ClinicalQASpec, out: Path | None = None) -> dict[str, Any]:
        summary = run_clinicalqa(engine, spec, out, baseline=spec.baseline, judge=spec.judge)
        notes = []
        if spec.judge is None and {"judge", "pairwise"} & set(spec.scorers):
            notes.append("judge scores skipped: no --judge-url")
        if spec.baseline is None and "pairwise" in spec.scorers:
            notes.append("pairwise skipped: no --baseline")
        summary["notes"] = notes
        return summary

    def markdown(self, summary: dict[str, Any]) -> str:
        return markdown(summary) + "".join(f"({n})\n" for n in summary.get("notes", []))

    def for_stage(self, engine: Engine, c: ClinicalQAEvalConfig, inputs: StageInputs) -> dict[str, Any]:
        """Reference-based means."""
        spec = ClinicalQASpec(sets=c.sets, data_dir=inputs.data_dir, limit=c.limit or None, scorers=["reference"],
                              max_new_tokens=c.max_new_tokens)
        summary = run_clinicalqa(engine, spec, inputs.out)
        overall = summary["overall"]["model"]
        return {"n": summary["n"], **{k: overall.get(k) for k in summary["metrics"]}}
