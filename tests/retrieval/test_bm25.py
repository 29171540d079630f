import math
import time

import pytest

from medgo.retrieval import Index, Passage, bigram_tokenize


def _lucene_bm25(query: list[str], docs: list[list[str]], k1: float = 1.5, b: float = 0.75) -> list[float]:
    """Independent reference: Lucene BM25, idf = ln(1 + (N - df + .5) / (df + .5))."""
    n, avgdl = len(docs), sum(map(len, docs)) / len(docs)
    out = []
    for d in docs:
        s = 0.0
        for t in set(query):  # bm25s scores each distinct query token once
            tf, df = d.count(t), sum(t in x for x in docs)
            if tf:
                s += math.log(1 + (n - df + 0.5) / (df + 0.5)) * tf / (tf + k1 * (1 - b + b * len(d) / avgdl))
        out.append(s)
    return out


@pytest.mark.parametrize("tokenizer", ["jieba", "bigram"])
def test_exact_ranking(corpus, tokenizer):
    index = Index.build(corpus, tokenizer=tokenizer)
    assert [h.id for h in index.search("高血压 糖尿病", 10)] == ["p5", "p2", "p1"]
    assert [h.id for h in index.search("发烧吃什么退烧药", 10)][0] == "p3"
    assert [h.id for h in index.search("奥美拉唑", 10)] == ["p4"]  # non-matching passages are not returned


def test_scores_equal_reference_lucene_bm25(corpus):
    index = Index.build(corpus, tokenizer="bigram")
    query = "高血压患者的饮食"
    ref = _lucene_bm25(bigram_tokenize(query), [bigram_tokenize(p.content) for p in corpus])
    hits = index.search(query, 10)
    assert {h.id: h.score for h in hits} == pytest.approx(
        {p.id: s for p, s in zip(corpus, ref, strict=True) if s > 0}, rel=1e-5
    )
    assert [h.score for h in hits] == sorted(h.score for h in hits)[::-1]


def test_ties_keep_insertion_order_and_k_caps():
    same = [Passage(f"d{i}", "头痛怎么办") for i in range(5)]
    index = Index.build(same, tokenizer="bigram")
    assert [h.id for h in index.search("头痛", 3)] == ["d0", "d1", "d2"]
    assert len(index.search("头痛", 100)) == 5


@pytest.mark.parametrize("query", ["", "   ", "！？。", "zzzz", "\x00\ufeff", "🙂🙂"])
def test_empty_and_odd_queries_return_nothing(corpus, query):
    index = Index.build(corpus, tokenizer="jieba")
    assert index.search(query, 10) == []


def test_huge_query_is_fast_and_still_ranks(corpus):
    index = Index.build(corpus, tokenizer="bigram")
    query = "胃炎" + "的" * 100_000 + "奥美拉唑"
    t0 = time.perf_counter()
    hits = index.search(query, 2)
    assert time.perf_counter() - t0 < 5
    assert hits[0].id == "p4"


def test_hit_carries_passage_fields(corpus):
    hit = Index.build(corpus, tokenizer="jieba").search("胃炎", 1)[0]
    assert (hit.id, hit.title, hit.text) == ("p4", corpus[3].title, corpus[3].text) and hit.score > 0


def test_bad_k(corpus):
    with pytest.raises(ValueError):
        Index.build(corpus).search("胃炎", 0)
