"""Micro precision / recall / F1 over per-sample sets (CBLUE strict micro-F1, PromptCBLUE IE scores)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    """0 wherever a denominator is 0: no predictions, no gold, or both (the official scorers' convention)."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "tp": tp, "fp": fp, "fn": fn}


def set_micro_prf(
    golds: Sequence[Iterable[Hashable]], preds: Sequence[Iterable[Hashable] | None]
) -> dict[str, float]:
    """Per sample, gold and predicted items become sets (duplicates count once); counts are summed over samples.

    A missing prediction (None) is an empty set: every gold item of that sample is a false negative."""
    if len(golds) != len(preds):
        raise ValueError(f"{len(golds)} gold samples but {len(preds)} predictions")
    tp = fp = fn = 0
    for g, p in zip(golds, preds, strict=True):
        gs, ps = set(g), set(p or ())
        tp += len(gs & ps)
        fp += len(ps - gs)
        fn += len(gs - ps)
    return prf(tp, fp, fn)
