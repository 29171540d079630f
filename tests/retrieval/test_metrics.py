import math

import pytest

from medgo.retrieval import evaluate, mrr_at_k, ndcg_at_k, recall_at_k


def test_mrr_recall_ndcg_by_hand():
    ranked = ["x", "a", "y", "b"]
    rel = {"a": 1, "b": 1, "c": 1}
    assert mrr_at_k(ranked, rel, 10) == 0.5
    assert mrr_at_k(ranked, rel, 1) == 0.0
    assert recall_at_k(ranked, rel, 2) == pytest.approx(1 / 3)
    assert recall_at_k(ranked, rel, 10) == pytest.approx(2 / 3)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(ranked, rel, 10) == pytest.approx(dcg / idcg)


def test_graded_ndcg_prefers_the_higher_grade_first():
    rel = {"a": 2, "b": 1}
    assert ndcg_at_k(["a", "b"], rel) == pytest.approx(1.0)
    assert ndcg_at_k(["b", "a"], rel) < 1.0


def test_evaluate_means_and_missing_queries_score_zero():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"z": 0}}  # q3 has no relevant passage: not counted
    m = evaluate({"q1": ["a"]}, qrels, ks=(1, 10))
    assert m["queries"] == 2
    assert m["mrr@10"] == 0.5 and m["recall@1"] == 0.5 and m["ndcg@10"] == 0.5
    with pytest.raises(ValueError):
        evaluate({}, {"q": {"a": 0}})
