"""Single-label classification: CBLUE accuracy / macro-F1 and PromptCBLUE's classification report."""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.metrics import classification_report, precision_recall_fscore_support


def accuracy(golds: Sequence[str], preds: Sequence[str | None]) -> dict[str, float]:
    """Fraction of gold samples whose prediction equals the gold label; a missing prediction is wrong."""
    n = len(golds)
    correct = sum(g == p for g, p in zip(golds, preds, strict=True))
    return {"accuracy": correct / n if n else 0.0, "correct": correct, "n": n}


def macro_prf(golds: Sequence[str], preds: Sequence[str | None]) -> dict[str, float]:
    """sklearn macro P/R/F1 as CBLUE's ctc/sts metric: classes = union of gold and predicted labels, so a
    predicted unknown label is a class of its own with F1 0. A missing prediction (None) counts against its
    gold class but adds no class (the official scorer would have refused the file)."""
    if not golds:
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    missing = "\x00missing"
    y_pred = [missing if p is None else p for p in preds]
    labels = sorted(set(golds) | {p for p in preds if p is not None})
    p, r, f, _ = precision_recall_fscore_support(
        list(golds), y_pred, labels=labels, average="macro", zero_division=0
    )
    return {"precision": float(p), "recall": float(r), "f1": float(f)}


def promptcblue_cls(
    golds: Sequence[str], preds: Sequence[str | None], default_label: str, average: str
) -> dict[str, float]:
    """PromptCBLUE `calc_cls_task_scores`: an empty answer becomes the task's first label; sklearn's
    classification report over the union of labels (zero_division=0); `average` is "macro" or "weighted"."""
    if not golds:
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    y_pred = [default_label if not p else p for p in preds]
    rep = classification_report(list(golds), y_pred, output_dict=True, zero_division=0)
    avg = rep[f"{average} avg"]
    return {"precision": float(avg["precision"]), "recall": float(avg["recall"]), "f1": float(avg["f1-score"])}
