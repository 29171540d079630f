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
