import pytest

from medgo.retrieval import Hit, Index, loglikelihood_scorer, rerank

HITS = [Hit("a", "", "甲", 3.0), Hit("b", "", "乙", 2.0), Hit("c", "", "丙", 1.0)]


def test_rerank_reorders_and_replaces_scores():
    out = rerank("q", HITS, lambda q, hits: [0.1, 0.9, 0.5])
    assert [(h.id, h.score) for h in out] == [("b", 0.9), ("c", 0.5), ("a", 0.1)]


def test_rerank_ties_keep_first_stage_order():
    assert [h.id for h in rerank("q", HITS, lambda q, hits: [1.0] * len(hits))] == ["a", "b", "c"]


def test_rerank_rejects_a_broken_scorer():
    with pytest.raises(ValueError, match="2 scores for 3"):
        rerank("q", HITS, lambda q, hits: [1.0, 2.0])
    with pytest.raises(ValueError, match="non-finite"):
        rerank("q", HITS, lambda q, hits: [1.0, float("nan"), 0.0])
    assert rerank("q", [], lambda q, hits: []) == []


def test_search_reranks_a_deeper_candidate_pool(corpus):
    index = Index.build(corpus, tokenizer="bigram")
    seen = []

    def prefer_p1(query, hits):
        seen.append([h.id for h in hits])
        return [1.0 if h.id == "p1" else 0.0 for h in hits]

    hits = index.search("糖尿病 血压", 1, reranker=prefer_p1, rerank_depth=10)
    assert len(seen[0]) == 3  # every matching passage was offered, not only the top 1
    assert [h.id for h in hits] == ["p1"]


def test_loglikelihood_scorer_builds_requests():
    calls = []

    def fake_ll(reqs):
        calls.extend(reqs)
        return [-float(len(ctx)) for ctx, _ in reqs]

    scores = loglikelihood_scorer(fake_ll)("头痛吗", HITS[:2])
    assert len(scores) == 2 and all(cont == "能" for _, cont in calls)
    assert "甲" in calls[0][0] and "头痛吗" in calls[0][0]
