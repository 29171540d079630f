"""PromptCBLUE suite: score instruction-format predictions the way PromptCBLUE's evaluator does.

Per task: extraction -> micro-F1 over per-sample sets of answer dicts; classification -> sklearn report over
the union of labels (empty answer = the task's first label), macro or weighted; generation -> ROUGE on
character-split text. Overall = mean of the task scores x 100 over the tasks present in the gold file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from medgo.errors import DataError
from medgo.eval.metrics import promptcblue_cls, set_micro_prf
from medgo.eval.metrics.rouge import rouge_f
from medgo.eval.suites.promptcblue_parse import structure
from medgo.eval.tasks.io import read_records

IE = {"CMeEE-V2", "CMeEE", "CMeIE", "CMeIE-V2", "CHIP-CDN", "CHIP-CDEE", "IMCS-V2-NER", "IMCS-V2-SR", "CHIP-MDCFNPC"}
# task -> (first label = default for empty answers, average)
CLS = {
    "CHIP-STS": ("是的", "weighted"), "CHIP-CTC": ("非上述类型", "macro"), "IMCS-V2-DAC": ("非上述类型", "macro"),
    "KUAKE-IR": ("相关", "weighted"), "KUAKE-QIC": ("非上述类型", "macro"), "KUAKE-QTR": ("完全不匹配", "weighted"),
    "KUAKE-QQR": ("完全一致", "weighted"),
}


def _item_key(d: dict) -> tuple:
    return tuple(json.dumps(d[k], ensure_ascii=False) for k in sorted(d))


def score_task(task: str, golds: list[Any], preds: list[Any]) -> dict[str, float]:
    if task in IE:
        m = set_micro_prf([{_item_key(x) for x in g} for g in golds], [{_item_key(x) for x in p} for p in preds])
        return {"precision": m["precision"], "recall": m["recall"], "f1": m["f1"], "score": m["f1"]}
    if task in CLS:
        default, avg = CLS[task]
        m = promptcblue_cls(golds, preds, default, avg)
        key = "macro-f1" if avg == "macro" else "f1"
        return {**m, key: m["f1"], "score": m["f1"]}
    if task == "MedDG":
        m = rouge_f(preds, golds)
        return {**m, "score": m["rougeL"]}
    if task == "IMCS-V2-MRG":  # ROUGE over every gold section of every sample
        p = [pr.get(k, "").strip() for g, pr in zip(golds, preds, strict=True) for k in g]
        r = [v.strip() for g in golds for v in g.values()]
        m = rouge_f(p, r)
        return {**m, "score": m["rougeL"]}
    raise DataError(f"PromptCBLUE task {task!r} is not supported by this scorer",
                    hint="Text2DT and CMedCausal are not implemented yet")


def _load(path: Path) -> dict[str, list[dict]]:
    """Either instruction JSONL rows (sample_id, task_dataset, target[, answer_choices]) or the structured
    form {task: [{sample_id, answer}]}; returns task -> rows with `sample_id` and `answer` or `target`."""
    text = path.read_text(encoding="utf-8-sig").strip() if path.is_file() else None
    if text is None:
        raise DataError(f"file not found: {path}")
    if text.startswith("{") and "\n{" not in text[:2000] and text.rstrip().endswith("}"):
        try:
            obj = json.loads(text)
            if isinstance(obj, dict) and all(isinstance(v, list) for v in obj.values()):
                return obj
        except json.JSONDecodeError:
            pass
    by: dict[str, list[dict]] = {}
    for row in read_records(path):
        by.setdefault(str(row.get("task_dataset", "")), []).append(row)
    return by


def _answer(row: dict | None, task: str, choices: list[str] | None) -> Any:
    if row is None:
        return structure(task, "", choices)
    if "answer" in row:
        return row["answer"]
    return structure(task, str(row.get("target") or ""), row.get("answer_choices") or choices)


def score_files(gold: str | Path, pred: str | Path) -> dict[str, Any]:
    g_by, p_by = _load(Path(gold)), _load(Path(pred))
    tasks: dict[str, Any] = {}
    missing = 0
    for task, g_rows in g_by.items():
        p_index = {str(r.get("sample_id")): r for r in p_by.get(task, [])}
        golds, preds = [], []
        for g in g_rows:
            choices = g.get("answer_choices")
            p = p_index.get(str(g.get("sample_id")))
            missing += p is None
            golds.append(_answer(g, task, choices))
            preds.append(_answer(p, task, choices))
        tasks[task] = {**score_task(task, golds, preds), "n": len(g_rows)}
    overall = 100 * sum(t["score"] for t in tasks.values()) / len(tasks) if tasks else 0.0
    return {"suite": "promptcblue", "tasks": tasks, "overall": overall, "missing": missing}
