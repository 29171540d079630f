"""MRR@k for KUAKE-IR (CBLUE: 10 candidates per query, mean reciprocal rank of the first relevant one)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def mean_mrr_at_k(
    ranked: Mapping[str, Sequence[str]], relevant: Mapping[str, set[str]], k: int = 10
) -> dict[str, float]:
    """Mean over gold queries; a query with no ranking, or no relevant passage in its first k, scores 0.
    Rankings for queries without gold are ignored; ranks are list positions (duplicates keep their slots)."""
    total = 0.0
    for qid, rel in relevant.items():
        for rank, pid in enumerate(list(ranked.get(qid, ()))[:k], 1):
            if pid in rel:
                total += 1.0 / rank
                break
    n = len(relevant)
    return {"mrr@10" if k == 10 else f"mrr@{k}": total / n if n else 0.0, "queries": n}
