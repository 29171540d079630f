"""CBLUE train rows -> SFT conversations through each task's own prompt template (`medgo data cblue-to-sft`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medgo.data.jsonl import write_jsonl
from medgo.eval.harness import build_prompt
from medgo.eval.tasks import get_task
from medgo.eval.tasks.base import _bucket


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
