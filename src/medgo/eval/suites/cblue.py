"""CBLUE suite: score files in the leaderboard's submission format, run tasks on a model, write submissions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from medgo.errors import DataError
from medgo.eval.tasks import get_task
from medgo.eval.tasks.base import Example, Task


def _text(row: Example) -> str | None:
    for k in ("text", "query", "text1"):
        if k in row:
            return str(row[k]).strip()
    return None


def align(task: Task, golds: list[Example], preds: list[Example]) -> tuple[list[Example | None], dict[str, int]]:
    """Prediction record for each gold record: by id where both files carry ids, otherwise by position (the
    texts must then agree). A gold record without a prediction gets None and is scored as wrong / empty."""
    key = task.id_key
    if key and golds and all(key in g for g in golds) and all(key in p for p in preds):
        by_id = {str(p[key]): p for p in preds}
        out = [by_id.get(str(g[key])) for g in golds]
        unmatched = len({str(p[key]) for p in preds} - {str(g[key]) for g in golds})
    else:
        out = [preds[i] if i < len(preds) else None for i in range(len(golds))]
        for i, (g, p) in enumerate(zip(golds, out, strict=True)):
            if p is not None and _text(g) is not None and _text(p) is not None and _text(g) != _text(p):
                raise DataError(f"{task.name}: record {i + 1} of the prediction file has another text than the gold",
                                hint="keep the gold file's order, or give every record its id")
        unmatched = max(0, len(preds) - len(golds))
    return out, {"n_gold": len(golds), "n_pred": len(preds), "missing": sum(p is None for p in out),
                 "unmatched_pred": unmatched}


def score_records(task: Task, golds: list[Example], preds: list[Example], convention: str = "cblue") -> dict[str, Any]:
    aligned, counts = align(task, golds, preds)
    g = [task.gold(r) for r in golds]
    p = [None if r is None else _safe_gold(task, r) for r in aligned]
    res = task.score(convention, g, p, golds)
    return {"task": task.name, "convention": convention, **res, **counts}


def _safe_gold(task: Task, rec: Example) -> Any:
    try:
        return task.gold(rec)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None  # a malformed prediction record scores as missing


def score_files(task_name: str, gold: str | Path, pred: str | Path, convention: str = "cblue") -> dict[str, Any]:
    """Score `pred` against `gold`, both in the task's official format (as example_gold / example_pred)."""
    from medgo.eval.suites.cblue_special import SPECIAL

    if task_name.upper() in SPECIAL:
        return SPECIAL[task_name.upper()](Path(gold), Path(pred))
    task = get_task(task_name)
    return score_records(task, task.read(Path(gold)), task.read(Path(pred)), convention)


def write_submission(task: Task, examples: list[Example], preds: list[Any], out_dir: Path) -> Path:
    """The file the leaderboard takes: the test records with the prediction fields filled in."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / task.submit_file
    recs = [task.to_record(ex, p) for ex, p in zip(examples, preds, strict=True)]
    if task.writer is not None:
        path.write_text(json.dumps(task.writer(recs), ensure_ascii=False, indent=2), encoding="utf-8")
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    else:
        path.write_text(json.dumps(recs, ensure_ascii=False, indent=2), encoding="utf-8")
    return path
