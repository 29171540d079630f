"""Entry points of the CBLUE suite used by the CLI and the pipeline: run, submit, and CBLUE -> SFT conversion."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from medgo.data.jsonl import write_jsonl
from medgo.eval.harness import EvalSpec, build_prompt, pick_shots, run_eval
from medgo.eval.suites.cblue import write_submission
from medgo.eval.tasks import get_task, task_names
from medgo.eval.tasks.base import _bucket
from medgo.inference.base import Engine, GenerationParams


def data_dir_from(arg: str | Path | None) -> Path | None:
    """--data-dir, else $MEDGO_DATA, else None (the project's own small samples)."""
    val = arg or os.environ.get("MEDGO_DATA")
    return Path(val) if val else None


def parse_tasks(spec: str | None, suite: str = "cblue") -> list[str]:
    """Task names of a suite: cblue = the native tasks, promptcblue = the PromptCBLUE-<task> instruction tasks
    (given with or without the prefix)."""
    from medgo.eval.tasks.promptcblue_tasks import PREFIX, is_promptcblue

    pcb = suite == "promptcblue"
    if not spec or spec.strip().lower() == "all":
        return [n for n in task_names() if is_promptcblue(n) == pcb]
    names = [t.strip() for t in spec.split(",") if t.strip()]
    return [get_task(PREFIX + t if pcb and not is_promptcblue(t) else t).name for t in names]


def run_cblue(engine: Engine, spec: EvalSpec, out: Path) -> dict[str, Any]:
    return run_eval(engine, spec, out)


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


def _key(ex: dict) -> str:
    return "".join(str(ex.get(k, "")) for k in ("text", "query", "query1", "query2", "text1", "text2", "title")).strip()


def cblue_to_sft(tasks: list[str], out: str | Path, data_dir: Path | None = None, template: str | None = None,
                 split: str = "train", heldout: str = "dev", limit: int | None = None,
                 seed: int = 0) -> dict[str, Any]:
    """CBLUE training records -> SFT conversations {id, messages, source} with the evaluation templates.
    A training record whose text also occurs in the held-out split is dropped and counted (no dev leak).
    `limit`: at most this many records per task, a seeded sample (same records for the same seed)."""
    import random

    rows: list[dict[str, Any]] = []
    stats: dict[str, Any] = {}
    for name in tasks:
        task = get_task(name)
        train, src = task.load(split, data_dir)
        dev_rows = task.load(heldout, data_dir)[0]
        if task.find(split, data_dir) is None:  # train is the dev file's hash share: the rest is held out
            dev_rows = [ex for ex in dev_rows if _bucket(ex) != 0]
        dev_keys = {_key(ex) for ex in dev_rows}
        tmpl = task.template(template)
        kept = leaked = 0
        order = list(range(len(train)))
        if limit and limit < len(train):
            order = sorted(random.Random(f"{task.name}:{seed}").sample(order, limit))
        for i in order:
            ex = train[i]
            if _key(ex) in dev_keys:
                leaked += 1
                continue
            prompt = build_prompt(task, ex, tmpl, [])[0]["content"]
            rows.append({"id": f"{task.name}-{i}", "messages": [
                {"role": "user", "content": prompt},
                {"role": "assistant", "content": task.answer(task.gold(ex), ex)},
            ], "source": f"cblue/{task.name}"})
            kept += 1
        stats[task.name] = {"kept": kept, "dropped_dev_overlap": leaked, "available": len(train), "source": src}
    write_jsonl(out, rows)
    return {"rows": len(rows), "tasks": stats, "out": str(out)}
