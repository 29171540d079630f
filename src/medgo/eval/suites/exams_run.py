"""The exams suite: task selection and the Suite the CLI and the eval stage use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medgo.config.schema import ExamsEvalConfig
from medgo.errors import DataError
from medgo.eval.suite import EvalOptions, StageInputs
from medgo.eval.suites.exams import LOADERS, ExamSpec, load_exam, markdown, run_exams
from medgo.inference.base import Engine


def exam_tasks(tasks: str | None, data_dir: Path | None) -> list[str]:
    """'all': every format with questions under the data folder (the project samples have all four)."""
    if tasks and tasks.strip().lower() != "all":
        names = [t.strip().lower() for t in tasks.split(",") if t.strip()]
        for n in names:
            if n not in LOADERS:
                raise DataError(f"unknown exam {n!r}", hint=f"one of {sorted(LOADERS)}")
        return names
    found = []
    for n in LOADERS:
        try:
            load_exam(n, data_dir)
        except DataError:
            continue
        found.append(n)
    return found


class ExamsSuite:
    """Multiple-choice exams (CMMLU medical, CNMLEQA, MedQA-MCMLE, CMB-Exam)."""

    name = "exams"
    merge_prefix = None

    def spec(self, opts: EvalOptions) -> ExamSpec:
        return ExamSpec(tasks=exam_tasks(opts.tasks, opts.data_dir), data_dir=opts.data_dir, split=opts.split or "test",
                        limit=opts.limit, shots=opts.shots, methods=opts.methods or ["loglik", "generate"],
                        max_new_tokens=opts.max_new_tokens or 32)

    def run(self, engine: Engine, spec: ExamSpec, out: Path | None = None) -> dict[str, Any]:
        return run_exams(engine, spec, out)

    def markdown(self, summary: dict[str, Any]) -> str:
        return markdown(summary)

    def for_stage(self, engine: Engine, c: ExamsEvalConfig, inputs: StageInputs) -> dict[str, Any]:
        """Accuracy per exam and method."""
        spec = ExamSpec(tasks=c.tasks, data_dir=inputs.data_dir, limit=c.limit or None, methods=list(c.methods))
        summary = run_exams(engine, spec, inputs.out)
        return {task: {"n": r.get("n"), "source": r.get("source"),
                       **{m: (r.get(m) or {}).get("acc") for m in ("loglik", "loglik_norm", "generate")}}
                for task, r in summary["tasks"].items()}
