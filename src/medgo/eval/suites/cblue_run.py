"""Entry points of the CBLUE suite used by the CLI and the pipeline: run, submit, and CBLUE -> SFT conversion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medgo.config.data_root import data_root
from medgo.config.schema import CblueEvalConfig
from medgo.eval.harness import EvalSpec, build_prompt, markdown_table, pick_shots, run_eval
from medgo.eval.suite import EvalOptions, StageInputs
from medgo.eval.suites.cblue import write_submission
from medgo.eval.tasks import get_task, task_names
from medgo.inference.base import Engine, GenerationParams


def data_dir_from(arg: str | Path | None) -> Path | None:
    """--data-dir, else $MEDGO_DATA, else None (the project's own small samples)."""
    return data_root(arg)


def parse_tasks(spec: str | None, suite: str = "cblue") -> list[str]:
    """Task names of a suite: cblue = the native tasks, promptcblue = the PromptCBLUE-<task> instruction tasks
    (given with or without the prefix)."""
    from medgo.eval.tasks.promptcblue_tasks import PREFIX, is_promptcblue

    pcb = suite == "promptcblue"
    if not spec or spec.strip().lower() == "all":
        return [n for n in task_names() if is_promptcblue(n) == pcb]
    names = [t.strip() for t in spec.split(",") if t.strip()]
    return [get_task(PREFIX + t if pcb and not is_promptcblue(t) else t).name for t in names]


def submit_cblue(engine: Engine, tasks: list[str], out: Path, data_dir: Path | None, template: str | None = None,
                 limit: int | None = None) -> list[Path]:
    """Test-split predictions as the files the leaderboard takes (one per task, named as its README says)."""
    written = []
    for name in tasks:
        task = get_task(name)
        examples, _ = task.load("test", data_dir)
        examples = examples[:limit] if limit else examples
        tmpl = task.template(template)
        shots = pick_shots(task, tmpl, data_dir, 0)
        prompts = [build_prompt(task, ex, tmpl, shots) for ex in examples]
        outs = engine.generate(prompts, GenerationParams(max_new_tokens=task.max_new_tokens))
        preds = [task.parse(o.text, ex) for o, ex in zip(outs, examples, strict=True)]
        written.append(write_submission(task, examples, preds, out))
    return written


class CblueSuite:
    """CBLUE tasks (native leaderboard metrics) or, as `promptcblue`, the PromptCBLUE-<task> instruction tasks."""

    merge_prefix = None

    def __init__(self, name: str = "cblue") -> None:
        self.name = name

    def spec(self, opts: EvalOptions) -> EvalSpec:
        return EvalSpec(tasks=parse_tasks(opts.tasks, self.name), split=opts.split or "dev", data_dir=opts.data_dir,
                        limit=opts.limit, template=opts.template,
                        convention="promptcblue" if self.name == "promptcblue" else opts.convention,
                        methods=opts.methods or ["generate"], max_new_tokens=opts.max_new_tokens)

    def run(self, engine: Engine, spec: EvalSpec, out: Path | None = None) -> dict[str, Any]:
        return run_eval(engine, spec, out)

    def markdown(self, summary: dict[str, Any]) -> str:
        return markdown_table(summary)

    def for_stage(self, engine: Engine, c: CblueEvalConfig, inputs: StageInputs) -> dict[str, Any]:
        """Scores per task and method (fractions in [0, 1]); seeded subsets where configured, and one group of
        tasks per method list (each group's predictions in its own folder, one scores table for all)."""
        out, root = inputs.out, inputs.data_dir
        sampled = {t: c.subset_sizes[t] for t in c.tasks if t in c.subset_sizes}
        if sampled:  # fixed seeded subsets, scored in full
            from medgo.eval.subsets import write_cblue_subsets

            write_cblue_subsets(sampled, root, out / "subsets", c.subset_seed, c.split)
        groups: dict[tuple[bool, tuple[str, ...]], list[str]] = {}
        for t in c.tasks:
            groups.setdefault((t in sampled, tuple(c.task_methods.get(t, c.methods))), []).append(t)
        tasks: dict[str, Any] = {}
        for (is_sampled, methods), names in groups.items():
            spec = EvalSpec(tasks=names, split=c.split, data_dir=out / "subsets" if is_sampled else root,
                            limit=None if is_sampled else (c.limit or None), convention=c.convention,
                            methods=list(methods))
            tag = ("sampled-" if is_sampled else "") + "-".join(methods)
            last = run_eval(engine, spec, out / tag if len(groups) > 1 else out)
            tasks.update(last["tasks"])
        if len(groups) > 1:
            (out / "scores.md").write_text(markdown_table({**last, "tasks": tasks}), encoding="utf-8")
        return {task: {"n": r["n"], "source": r.get("source"),
                       "metric": (r.get("generate") or r.get("loglik") or {}).get("metric"),
                       "generate": (r.get("generate") or {}).get("score"),
                       "parse_failures": (r.get("generate") or {}).get("parse_failures"),
                       "loglik": (r.get("loglik") or {}).get("score")} for task, r in tasks.items()}
