"""Entity-level F1 over BIO tag sequences, chunked like seqeval's default (conlleval) mode: the IMCS-V2-NER
official scorer calls `seqeval.metrics.f1_score`."""

from __future__ import annotations

from collections.abc import Sequence

from medgo.eval.metrics.prf import prf


def _split(tag: str) -> tuple[str, str]:
    return tag[:1] or "O", tag[1:].split("-", maxsplit=1)[-1] if len(tag) > 1 else ""


def _ends(prev: str, tag: str, prev_type: str, type_: str) -> bool:
    if prev in ("E", "S"):
        return True
    if prev == "B" and tag in ("B", "S", "O"):
        return True
    if prev == "I" and tag in ("B", "S", "O"):
        return True
    return prev not in ("O", ".") and prev_type != type_


def _starts(prev: str, tag: str, prev_type: str, type_: str) -> bool:
    if tag in ("B", "S"):
        return True
    if prev in ("E", "S", "O") and tag in ("E", "I"):
        return True
    return tag not in ("O", ".") and prev_type != type_


def bio_chunks(tags: Sequence[str]) -> set[tuple[str, int, int]]:
    """(type, start, end inclusive) chunks; a stray I- opens a chunk, a type change closes one (conlleval)."""
    out: set[tuple[str, int, int]] = set()
    prev, prev_type, begin = "O", "", 0
    for i, raw in enumerate([*tags, "O"]):
        tag, type_ = _split(raw)
        if _ends(prev, tag, prev_type, type_):
            out.add((prev_type, begin, i - 1))
        if _starts(prev, tag, prev_type, type_):
            begin = i
        prev, prev_type = tag, type_
    return out


def bio_micro_prf(golds: Sequence[Sequence[str]], preds: Sequence[Sequence[str] | None]) -> dict[str, float]:
    """Micro P/R/F1 over chunks of every sentence. A missing or length-mismatched prediction is all-O
    (the official scorer asserts equal lengths; here it costs recall instead of crashing)."""
    tp = fp = fn = 0
    for g, p in zip(golds, preds, strict=True):
        gc = bio_chunks(g)
        pc = bio_chunks(p) if p is not None and len(p) == len(g) else set()
        tp += len(gc & pc)
        fp += len(pc - gc)
        fn += len(gc - pc)
    return prf(tp, fp, fn)
