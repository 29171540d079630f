"""The exams suite: task selection and the Suite the CLI and the eval stage use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medgo.config.schema import ExamsEvalConfig
from medgo.errors import DataError
from medgo.eval.suite import EvalOptions, StageInputs
from medgo.eval.suites.exams import LOADERS, ExamSpec, exam_key, load_exam, markdown, run_exams
from medgo.eval.suites.exams_protocols import PROTOCOLS
from medgo.inference.base import Engine


def exam_tasks(tasks: str | None, data_dir: Path | None) -> list[str]:
    """'all': every format with questions under the data folder (the project samples have all of them).
    A name may carry '-full' (cmmlu-general-full: every general question, not the seeded subset)."""
    if tasks and tasks.strip().lower() != "all":
        names = [exam_key(t) for t in tasks.split(",") if t.strip()]
        for n in names:
            if n.removesuffix("-full") not in LOADERS:
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


def _protocol(opts: EvalOptions) -> str:
    """`published` unless asked otherwise (--protocol, or --template naming a protocol)."""
    p = opts.protocol or (opts.template if opts.template in PROTOCOLS else None)
    if p is None and opts.template:
        raise DataError(f"exams: unknown protocol {opts.template!r}", hint=" or ".join(PROTOCOLS))
    if p not in (None, *PROTOCOLS):
        raise DataError(f"exams: unknown protocol {p!r}", hint=" or ".join(PROTOCOLS))
    return p or "published"


class ExamsSuite:
    """Multiple-choice exams (CMMLU medical and general, CNMLEQA, MedQA-MCMLE, MedQA-USMLE, CMB-Exam)."""

    name = "exams"
    merge_prefix = None

    def spec(self, opts: EvalOptions) -> ExamSpec:
        shots = opts.shots  # None: the protocol's own (published CMMLU: 5-shot)
        return ExamSpec(tasks=exam_tasks(opts.tasks, opts.data_dir), data_dir=opts.data_dir, split=opts.split or "test",
                        limit=opts.limit, shots=shots, methods=opts.methods or ["loglik", "generate"],
                        max_new_tokens=opts.max_new_tokens or 32, protocol=_protocol(opts),
                        full=opts.full)

    def run(self, engine: Engine, spec: ExamSpec, out: Path | None = None) -> dict[str, Any]:
        return run_exams(engine, spec, out)

    def markdown(self, summary: dict[str, Any]) -> str:
        return markdown(summary)

    def for_stage(self, engine: Engine, c: ExamsEvalConfig, inputs: StageInputs) -> dict[str, Any]:
        """Accuracy per exam and method, with the protocol and shots that produced it."""
        spec = ExamSpec(tasks=[exam_key(t) for t in c.tasks], data_dir=inputs.data_dir, limit=c.limit or None,
                        methods=list(c.methods), protocol=c.protocol, shots=c.shots, full=c.full,
                        general_per_subject=c.general_per_subject)
        summary = run_exams(engine, spec, inputs.out)
        return {task: {"n": r.get("n"), "source": r.get("source"), "protocol": r.get("protocol"),
                       "shots": r.get("shots"),
                       **{m: (r.get(m) or {}).get("acc") for m in ("loglik", "loglik_norm", "loglik_bytes", "generate")}}
                for task, r in summary["tasks"].items()}
