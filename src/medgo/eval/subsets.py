"""Fixed, seeded evaluation subsets written to disk in the source layout, so that the CBLUE harness reads them
as an ordinary data folder (`eval.cblue.data_dir`), and so that the contamination check and the classical
reference see exactly the rows the model is scored on. The same (task, n, seed) always gives the same rows."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from medgo.eval.tasks.base import Example, _bucket


def seeded_sample(rows: list[Any], n: int, key: str) -> list[Any]:
    """n rows drawn with a string-seeded RNG, kept in file order; all rows when n is 0 or too large."""
    if not n or n >= len(rows):
        return list(rows)
    idx = sorted(random.Random(key).sample(range(len(rows)), n))
    return [rows[i] for i in idx]


def _write_records(path: Path, rows: list[Example]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    else:
        path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")


def write_cblue_subsets(sizes: dict[str, int], data_dir: Path | None, out_root: Path, seed: int,
                        split: str = "dev") -> dict[str, Any]:
    """For each task, a seeded sample of `sizes[task]` rows of its `split` (a task without a train split keeps
    its hash-split dev share, as the harness does), written under `out_root` at the task's first path."""
    from medgo.eval.tasks import get_task

    out: dict[str, Any] = {}
    for name, n in sizes.items():
        task = get_task(name)
        rows, src = task.load(split, data_dir)
        if split == "dev" and task.find("train", data_dir) is None:
            # no train file: its 1-in-10 hash share of dev is the training / few-shot pool, never scored here
            rows = [r for r in rows if _bucket(r) != 0]
            src += " (without the 10% hash share used as train)"
        sub = seeded_sample(rows, n, f"{task.name}:{split}:{seed}")
        path = out_root / task.paths[split][0].format(split=split, task=task.name)
        _write_records(path, sub)
        out[task.name] = {"n": len(sub), "of": len(rows), "path": str(path), "source": src}
    return out


def exam_sample_ids(name: str, data_dir: Path | None, limit: int, seed: int = 0) -> set[str]:
    """Ids of the questions `run_exams` scores for (name, limit, seed): the same draw as the exam suite."""
    from medgo.eval.suites.exams import load_exam

    qs, _ = load_exam(name, data_dir)
    if limit and limit < len(qs):
        qs = random.Random(seed).sample(qs, limit)
    return {q.id for q in qs}
