"""Ranking metrics over a run {qid: [pid best-first]} and qrels {qid: {pid: grade}} (grade > 0 = relevant)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

Qrels = Mapping[str, Mapping[str, int]]
Run = Mapping[str, Sequence[str]]


def mrr_at_k(ranked: Sequence[str], rel: Mapping[str, int], k: int = 10) -> float:
    for i, pid in enumerate(ranked[:k], 1):
        if rel.get(pid, 0) > 0:
            return 1.0 / i
    return 0.0


def recall_at_k(ranked: Sequence[str], rel: Mapping[str, int], k: int) -> float:
    wanted = {p for p, g in rel.items() if g > 0}
    return len(wanted.intersection(ranked[:k])) / len(wanted) if wanted else 0.0


def ndcg_at_k(ranked: Sequence[str], rel: Mapping[str, int], k: int = 10) -> float:
    """Linear gain (as trec_eval): DCG = sum grade / log2(rank + 1), divided by the ideal DCG."""
    dcg = sum(rel.get(p, 0) / math.log2(i + 1) for i, p in enumerate(ranked[:k], 1) if rel.get(p, 0) > 0)
    ideal = sorted((g for g in rel.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 1) for i, g in enumerate(ideal, 1))
    return dcg / idcg if idcg else 0.0


def evaluate(run: Run, qrels: Qrels, ks: Sequence[int] = (1, 5, 10, 100)) -> dict[str, float]:
    """Means over every query in qrels with a relevant passage; a query missing from the run scores 0."""
    qids = [q for q, rel in qrels.items() if any(g > 0 for g in rel.values())]
    if not qids:
        raise ValueError("qrels hold no query with a relevant passage")
    out = {"mrr@10": 0.0, "ndcg@10": 0.0, **{f"recall@{k}": 0.0 for k in ks}}
    for q in qids:
        ranked, rel = list(run.get(q, [])), qrels[q]
        out["mrr@10"] += mrr_at_k(ranked, rel, 10)
        out["ndcg@10"] += ndcg_at_k(ranked, rel, 10)
        for k in ks:
            out[f"recall@{k}"] += recall_at_k(ranked, rel, k)
    return {m: v / len(qids) for m, v in out.items()} | {"queries": float(len(qids))}
