"""Reciprocal rank fusion (Cormack, Clarke & Buettcher 2009): score(d) = sum_i w_i / (k + rank_i(d))."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

T = TypeVar("T", bound=Hashable)


def rrf(
    rankings: Sequence[Sequence[T]], k: float = 60.0, weights: Sequence[float] | None = None
) -> list[tuple[T, float]]:
    """Fuse best-first rankings; rank is 1-based. Ties: better best rank first, then first-list order."""
    if weights is not None and len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights for {len(rankings)} rankings")
    if k < 0:
        raise ValueError("k must be >= 0")
    score: dict[T, float] = {}
    best: dict[T, tuple[int, int]] = {}  # (best rank, list index) for the tie-break
    for li, ranking in enumerate(rankings):
        w = 1.0 if weights is None else weights[li]
        for rank, doc in enumerate(dict.fromkeys(ranking), 1):  # a doc counts once per list
            score[doc] = score.get(doc, 0.0) + w / (k + rank)
            best[doc] = min(best.get(doc, (rank, li)), (rank, li))
    return sorted(score.items(), key=lambda kv: (-kv[1], best[kv[0]]))


def minmax(scores: Sequence[float]) -> list[float]:
    """Scores scaled to [0, 1] within one ranking (all-equal scores map to 1)."""
    if not scores:
        return []
    lo, hi = min(scores), max(scores)
    return [1.0 if hi == lo else (s - lo) / (hi - lo) for s in scores]


def weighted(runs: Sequence[Sequence[tuple[T, float]]], weights: Sequence[float]) -> list[tuple[T, float]]:
    """Score fusion: sum_i w_i * minmax(score_i(d)) over the lists that hold d (absent = 0).
    Ties: better best rank first, then first-list order (as `rrf`)."""
    if len(weights) != len(runs):
        raise ValueError(f"{len(weights)} weights for {len(runs)} rankings")
    score: dict[T, float] = {}
    best: dict[T, tuple[int, int]] = {}
    for li, run in enumerate(runs):
        seen: set = set()
        norm = minmax([s for _, s in run])
        for rank, ((doc, _), ns) in enumerate(zip(run, norm, strict=True), 1):
            if doc in seen:
                continue
            seen.add(doc)
            score[doc] = score.get(doc, 0.0) + weights[li] * ns
            best[doc] = min(best.get(doc, (rank, li)), (rank, li))
    return sorted(score.items(), key=lambda kv: (-kv[1], best[kv[0]]))
