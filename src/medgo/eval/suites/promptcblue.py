"""PromptCBLUE suite: score instruction-format predictions the way PromptCBLUE's evaluator does
(michael-wzhu/PromptCBLUE `src/evaluation/evaluate.py`; tests/eval/cblue/test_official_promptcblue.py runs
that code on the same predictions).

Per task: extraction (CMedCausal included) -> micro-F1 over per-sample sets of answer dicts; classification
-> sklearn report over the union of labels (empty answer = the task's first label, label sets as revised
upstream on 2023-08-28), macro or weighted; generation -> ROUGE on character-split text; Text2DT -> the tree
edit ratio. `overall` is the official Overall: the mean over all 18 PromptCBLUE tasks x 100, a task absent
from the gold file counting 0 (the official evaluator refuses such a file); `subset_average` is the mean
over the tasks the gold file holds, which is what to read on a partial set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from medgo.errors import DataError
from medgo.eval.metrics import promptcblue_cls, set_micro_prf
from medgo.eval.metrics.rouge import rouge_f
from medgo.eval.metrics.text2dt_promptcblue import promptcblue_text2dt
from medgo.eval.suites.promptcblue_parse import structure
from medgo.eval.tasks.io import read_records

# the official evaluator's 18 tasks (its Overall divides by 18); the toy data names CMeIE-V2 "CMeIE"
OFFICIAL_TASKS = ("CMeEE-V2", "CMeIE-V2", "CHIP-CDN", "CHIP-CDEE", "IMCS-V2-NER", "CHIP-MDCFNPC", "IMCS-V2-SR",
                  "IMCS-V2-DAC", "IMCS-V2-MRG", "CHIP-CTC", "CHIP-STS", "KUAKE-IR", "KUAKE-QIC", "KUAKE-QQR",
                  "KUAKE-QTR", "MedDG", "Text2DT", "CMedCausal")
ALIASES = {"CMeIE": "CMeIE-V2", "CMeEE": "CMeEE-V2"}
IE = {"CMeEE-V2", "CMeEE", "CMeIE", "CMeIE-V2", "CHIP-CDN", "CHIP-CDEE", "IMCS-V2-NER", "IMCS-V2-SR", "CHIP-MDCFNPC",
      "CMedCausal"}
# task -> (first label = default for empty answers, average)
CLS = {
    "CHIP-STS": ("是的", "weighted"), "CHIP-CTC": ("非上述类型", "macro"), "IMCS-V2-DAC": ("非上述类型", "macro"),
    "KUAKE-IR": ("相关", "weighted"), "KUAKE-QIC": ("非上述类型", "macro"), "KUAKE-QTR": ("完全不匹配或者没有参考价值", "weighted"),
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
    if task == "Text2DT":
        m = promptcblue_text2dt(golds, preds)
        return {**m, "score": m["tree_lenv_radio"]}
    if task == "IMCS-V2-MRG":  # ROUGE over every gold section of every sample
        p = [pr.get(k, "").strip() for g, pr in zip(golds, preds, strict=True) for k in g]
        r = [v.strip() for g in golds for v in g.values()]
        m = rouge_f(p, r)
        return {**m, "score": m["rougeL"]}
    raise DataError(f"PromptCBLUE task {task!r} is not one of the evaluator's tasks",
                    hint="tasks: " + ", ".join(OFFICIAL_TASKS))


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
    return {"suite": "promptcblue", "tasks": tasks, **overall_scores(tasks), "missing": missing}


def overall_scores(tasks: dict[str, dict]) -> dict[str, Any]:
    """`overall`: the official definition (mean over the 18 tasks x 100, absent ones 0); `subset_average`:
    the mean over the tasks scored here, with `subset_tasks` naming how many (labelled as such in reports)."""
    scored = {ALIASES.get(t, t): v["score"] for t, v in tasks.items()}
    overall = 100 * sum(scored.get(t, 0.0) for t in OFFICIAL_TASKS) / len(OFFICIAL_TASKS)
    subset = 100 * sum(scored.values()) / len(scored) if scored else 0.0
    absent = [t for t in OFFICIAL_TASKS if t not in scored]
    return {"overall": overall, "subset_average": subset, "subset_tasks": len(scored), "absent_tasks": absent}
