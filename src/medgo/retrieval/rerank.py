"""Reranking hook: any scorer callable re-orders the top hits; the medgo-model scorer plugs in here later."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from medgo.retrieval.index import Hit

# scorer(query, hits) -> one relevance score per hit, higher is better.
Scorer = Callable[[str, Sequence["Hit"]], Sequence[float]]
# loglikelihood([(context, continuation), ...]) -> log p(continuation | context), as Engine.loglikelihood gives.
LogLikelihood = Callable[[list[tuple[str, str]]], Sequence[float]]

RELEVANCE_PROMPT = "资料：{passage}\n问题：{query}\n这段资料能回答这个问题吗？回答："


def rerank(query: str, hits: Sequence[Hit], scorer: Scorer) -> list[Hit]:
    """Return hits re-sorted by the scorer (score replaced by it); ties keep the first-stage order."""
    if not hits:
        return []
    scores = [float(s) for s in scorer(query, hits)]
    if len(scores) != len(hits):
        raise ValueError(f"reranker returned {len(scores)} scores for {len(hits)} hits")
    if not all(math.isfinite(s) for s in scores):
        raise ValueError("reranker returned a non-finite score")
    order = sorted(range(len(hits)), key=lambda i: (-scores[i], i))
    return [dataclasses.replace(hits[i], score=scores[i]) for i in order]


def loglikelihood_scorer(
    loglikelihood: LogLikelihood, template: str = RELEVANCE_PROMPT, yes: str = "能", max_chars: int = 1500
) -> Scorer:
    """Relevance = log p(yes | passage, query) under a language model (the MedGo reranking idea)."""

    def score(query: str, hits: Sequence[Hit]) -> Sequence[float]:
        reqs = [(template.format(passage=h.text[:max_chars], query=query), yes) for h in hits]
        return list(loglikelihood(reqs))

    return score
