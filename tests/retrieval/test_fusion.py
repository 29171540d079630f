import pytest

from medgo.retrieval import rrf


def test_rrf_arithmetic():
    fused = dict(rrf([["a", "b", "c"], ["c", "a"]], k=60))
    assert fused["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert fused["b"] == pytest.approx(1 / 62)
    assert fused["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert [d for d, _ in rrf([["a", "b", "c"], ["c", "a"]], k=60)] == ["a", "c", "b"]


def test_rrf_weights_and_k():
    fused = dict(rrf([["a"], ["b"]], k=0, weights=[2.0, 1.0]))
    assert fused == {"a": 2.0, "b": 1.0}


def test_rrf_counts_a_doc_once_per_list():
    assert dict(rrf([["a", "a", "b"]], k=0)) == {"a": 1.0, "b": 0.5}


def test_rrf_ties_broken_by_best_rank_then_list_order():
    # x and y both sit at rank 1 of one list: equal scores, x's list comes first.
    assert [d for d, _ in rrf([["x"], ["y"]])] == ["x", "y"]
    assert [d for d, _ in rrf([["y"], ["x"]])] == ["y", "x"]


def test_rrf_rejects_bad_arguments():
    with pytest.raises(ValueError):
        rrf([["a"]], weights=[1.0, 2.0])
    with pytest.raises(ValueError):
        rrf([["a"]], k=-1)
    assert rrf([]) == [] and rrf([[], []]) == []
