"""Shared pieces of task declarations: file locations and classification task construction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from medgo.eval.metrics import accuracy, macro_prf, promptcblue_cls
from medgo.eval.tasks.base import Example, Task, Template
from medgo.eval.tasks.parsers import parse_label


def paths(task: str, *repo_dirs: str, ext: str = "json") -> list[str]:
    """Candidates under a data root: the shared mirror folders, then the official CBLUE download layout."""
    out = [f"cblue/{d}/{task}_{{split}}.{ext}" for d in repo_dirs]
    return [*out, f"{task}/{task}_{{split}}.json", f"{task}/{task}_{{split}}.jsonl", f"{task}_{{split}}.json"]


def classification_task(
    name: str,
    *,
    repo_dir: str,
    labels: dict[str, str],
    fields: Any,
    templates: list[Template],
    native: str,  # "accuracy" | "macro"
    promptcblue_avg: str,  # "macro" | "weighted"
    label_key: str = "label",
) -> Task:
    default = next(iter(labels))  # PromptCBLUE: an empty answer becomes the first label

    def cblue(golds: Sequence[str], preds: Sequence[str | None], _ex: Sequence[Example]) -> dict[str, float]:
        out = {**accuracy(golds, preds)}
        m = macro_prf(golds, preds)
        out.update({"macro_precision": m["precision"], "macro_recall": m["recall"], "macro_f1": m["f1"]})
        return out

    def pcb(golds: Sequence[str], preds: Sequence[str | None], _ex: Sequence[Example]) -> dict[str, float]:
        g = [labels.get(x, x) for x in golds]
        p = [labels.get(x, x) if x is not None else "" for x in preds]
        return promptcblue_cls(g, p, labels[default], promptcblue_avg)

    def to_record(ex: Example, pred: str | None) -> Example:
        return {**ex, label_key: pred if pred is not None else default}

    return Task(
        name=name,
        kind="classification",
        paths={s: paths(name, repo_dir) for s in ("train", "dev", "test")},
        templates=templates,
        fields=fields,
        gold=lambda ex: ex.get(label_key),
        answer=lambda g, _ex: labels.get(g, g),
        parse=lambda text, _ex: parse_label(text, labels),
        metrics={"cblue": cblue, "promptcblue": pcb},
        headline={"cblue": "accuracy" if native == "accuracy" else "macro_f1", "promptcblue": "f1"},
        to_record=to_record,
        submit_file=f"{name}_test.json",
        labels=labels,
        max_new_tokens=24,
    )


def options(labels: dict[str, str]) -> str:
    return "，".join(labels.values())
