"""Run registered tasks on any Engine: prompts from the task's template (+ fixed few-shot examples), greedy
generation + parsing, and for classification tasks label ranking by log-likelihood; per-sample predictions,
scores.json and a Markdown table. The runner knows no task by name."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medgo.eval.suite import write_outputs
from medgo.eval.tasks import get_task
from medgo.eval.tasks.base import Example, Task, Template
from medgo.inference.base import Engine, GenerationParams

END_OF_TURN = "<|im_end|>"  # chatml end of turn: a ranked label must be the complete answer


@dataclass
class EvalSpec:
    tasks: list[str]
    split: str = "dev"
    data_dir: Path | None = None
    limit: int | None = None
    template: str | None = None
    convention: str = "cblue"
    methods: list[str] = field(default_factory=lambda: ["generate"])
    seed: int = 0
    max_new_tokens: int | None = None  # None: each task's own budget


def _jsonable(x: Any) -> Any:
    if isinstance(x, (list, tuple, set, frozenset)):
        items = [_jsonable(v) for v in x]
        return sorted(items, key=str) if isinstance(x, (set, frozenset)) else items
    return x


def pick_shots(task: Task, tmpl: Template, data_dir: Path | None, seed: int) -> list[Example]:
    """Fixed shots per task (same for every example: reproducible and prefix-cache friendly)."""
    if tmpl.shots == 0:
        return []
    pool, _ = task.load("train", data_dir)
    rng = random.Random(f"{task.name}:{seed}")
    return rng.sample(pool, min(tmpl.shots, len(pool)))


def build_prompt(task: Task, ex: Example, tmpl: Template, shots: list[Example]) -> list[dict[str, str]]:
    parts = [tmpl.text.format(**task.fields(s)) + task.answer(task.gold(s), s) for s in shots]
    parts.append(tmpl.text.format(**task.fields(ex)))
    return [{"role": "user", "content": "\n\n".join(parts)}]


def rank_labels(engine: Engine, task: Task, prompts: list[Any]) -> list[str]:
    """One log-likelihood request per (prompt, label); the best-scoring label id wins."""
    ids = list(task.labels)
    reqs = [(p, task.labels[i] + END_OF_TURN) for p in prompts for i in ids]
    scores = [s for s, _ in engine.loglikelihood(reqs)]
    k = len(ids)
    return [ids[max(range(k), key=lambda j, b=b: scores[b * k + j])] for b in range(len(prompts))]


def evaluate_task(engine: Engine, task: Task, spec: EvalSpec) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    examples, source = task.load(spec.split, spec.data_dir)
    examples = examples[: spec.limit] if spec.limit else examples
    tmpl = task.template(spec.template)
    shots = pick_shots(task, tmpl, spec.data_dir, spec.seed)
    prompts = [build_prompt(task, ex, tmpl, shots) for ex in examples]
    golds = [task.gold(ex) for ex in examples]
    rows = [{"i": i, "id": ex.get("id"), "prompt": p[0]["content"], "gold": _jsonable(g)}
            for i, (ex, p, g) in enumerate(zip(examples, prompts, golds, strict=True))]
    res: dict[str, Any] = {"task": task.name, "n": len(examples), "source": source, "template": tmpl.name,
                           "convention": spec.convention}
    if "generate" in spec.methods:
        t0 = time.perf_counter()
        budget = spec.max_new_tokens or task.max_new_tokens
        outs = engine.generate(prompts, GenerationParams(max_new_tokens=budget, temperature=0.0))
        preds = [task.parse(o.text, ex) for o, ex in zip(outs, examples, strict=True)]
        for r, o, p in zip(rows, outs, preds, strict=True):
            r.update(raw=o.text, parsed=_jsonable(p))
        sc = task.score(spec.convention, golds, preds, examples)
        res["generate"] = {**sc, "parse_failures": sum(p is None for p in preds),
                           "seconds": time.perf_counter() - t0}
    if "loglik" in spec.methods and task.labels:
        t0 = time.perf_counter()
        try:
            preds_ll = rank_labels(engine, task, prompts)
        except NotImplementedError as e:
            res["loglik"] = {"skipped": str(e)}
        else:
            for r, p in zip(rows, preds_ll, strict=True):
                r["loglik"] = p
            res["loglik"] = {**task.score(spec.convention, golds, preds_ll, examples), "parse_failures": 0,
                             "seconds": time.perf_counter() - t0}
    return res, rows


def run_eval(engine: Engine, spec: EvalSpec, out: Path | None = None) -> dict[str, Any]:
    results: dict[str, Any] = {}
    predictions: dict[str, list[dict[str, Any]]] = {}
    for name in spec.tasks:
        task = get_task(name)
        res, rows = evaluate_task(engine, task, spec)
        results[task.name] = res
        predictions[f"predictions/{task.name}.jsonl"] = rows
    summary = {"suite": "cblue", "split": spec.split, "convention": spec.convention, "engine": engine.name,
               "tasks": results}
    if out is not None:
        write_outputs(out, summary, markdown_table(summary), predictions)
    return summary


def markdown_table(summary: dict[str, Any]) -> str:
    lines = [f"CBLUE {summary['split']} ({summary['convention']} metrics, engine {summary['engine']})", "",
             "| task | n | metric | generate | parse failures | log-likelihood |", "|---|---|---|---|---|---|"]
    for name, r in summary["tasks"].items():
        g, ll = r.get("generate", {}), r.get("loglik", {})
        metric = g.get("metric") or ll.get("metric") or ""
        gs = f"{100 * g['score']:.2f}" if "score" in g else "–"
        ls = f"{100 * ll['score']:.2f}" if "score" in ll else "–"
        pf = f"{g['parse_failures']}/{r['n']}" if g else "–"
        lines.append(f"| {name} | {r['n']} | {metric} | {gs} | {pf} | {ls} |")
    return "\n".join(lines) + "\n"
