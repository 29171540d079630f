"""Every metric on hand-made cases with hand-computed scores, including the edge cases."""

from __future__ import annotations

import pytest

from medgo.eval.metrics import (
    accuracy,
    bio_chunks,
    bio_micro_prf,
    macro_prf,
    mean_mrr_at_k,
    promptcblue_cls,
    set_micro_prf,
)
from medgo.eval.metrics.rouge import char_split, rouge_f


def test_set_micro_prf_counts_and_duplicates() -> None:
    # sample 1: gold {a,b}, pred {a,a,c} -> tp1 fp1 fn1 ; sample 2: gold {x}, pred None -> fn1
    m = set_micro_prf([["a", "b"], ["x"]], [["a", "a", "c"], None])
    assert (m["tp"], m["fp"], m["fn"]) == (1, 1, 2)
    assert m["precision"] == pytest.approx(1 / 2) and m["recall"] == pytest.approx(1 / 3)
    assert m["f1"] == pytest.approx(2 * 0.5 * (1 / 3) / (0.5 + 1 / 3))


@pytest.mark.parametrize("golds,preds", [([[]], [[]]), ([["a"]], [[]]), ([[]], [["a"]]), ([], [])])
def test_set_micro_prf_empty_sides_score_zero(golds, preds) -> None:
    assert set_micro_prf(golds, preds)["f1"] == 0.0


def test_set_micro_prf_length_mismatch_refused() -> None:
    with pytest.raises(ValueError):
        set_micro_prf([["a"]], [])


def test_accuracy_missing_prediction_is_wrong() -> None:
    assert accuracy(["a", "b", "c"], ["a", None, "x"])["accuracy"] == pytest.approx(1 / 3)
    assert accuracy([], [])["accuracy"] == 0.0


def test_macro_prf_unknown_label_is_a_class_missing_is_not() -> None:
    # gold a,a,b ; pred a,zzz,b: classes a,b,zzz. a: p1 r.5 f2/3 ; b: f1 ; zzz: f0 -> macro f1 = (2/3+1+0)/3
    m = macro_prf(["a", "a", "b"], ["a", "zzz", "b"])
    assert m["f1"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    # a missing prediction costs recall of its gold class but adds no class: a f=2/3, b f=1
    m = macro_prf(["a", "a", "b"], ["a", None, "b"])
    assert m["f1"] == pytest.approx((2 / 3 + 1) / 2)


def test_promptcblue_cls_default_label_and_averages() -> None:
    # empty answer -> first label "x". gold x,y,y ; pred x,x,y -> x: p.5 r1 f2/3 (sup1) ; y: p1 r.5 f2/3 (sup2)
    m = promptcblue_cls(["x", "y", "y"], ["", "x", "y"], "x", "weighted")
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["precision"] == pytest.approx((0.5 * 1 + 1 * 2) / 3)
    m = promptcblue_cls(["x", "y", "y"], ["", "x", "y"], "x", "macro")
    assert m["precision"] == pytest.approx(0.75) and m["recall"] == pytest.approx(0.75)


def test_mrr_at_10() -> None:
    ranked = {"q1": ["d3", "d1"], "q2": [f"n{i}" for i in range(10)] + ["r"], "q4": ["r"]}
    rel = {"q1": {"d1"}, "q2": {"r"}, "q3": {"x"}}
    # q1: 1/2 ; q2: relevant at 11 -> 0 ; q3 missing -> 0 ; q4 has no gold -> ignored
    assert mean_mrr_at_k(ranked, rel)["mrr@10"] == pytest.approx(0.5 / 3)
    assert mean_mrr_at_k({}, {})["mrr@10"] == 0.0


def test_bio_chunks_follow_conlleval() -> None:
    assert bio_chunks(["B-S", "I-S", "O", "B-D"]) == {("S", 0, 1), ("D", 3, 3)}
    assert bio_chunks(["I-S", "I-S", "B-S"]) == {("S", 0, 1), ("S", 2, 2)}  # stray I- opens a chunk
    assert bio_chunks(["B-S", "I-D"]) == {("S", 0, 0), ("D", 1, 1)}  # type change closes one
    assert bio_chunks(["O", "O"]) == set()


def test_bio_micro_prf() -> None:
    g = [["B-S", "I-S", "O"], ["B-D", "O"]]
    p = [["B-S", "I-S", "O"], ["O", "B-D"]]
    m = bio_micro_prf(g, p)  # tp1 fp1 fn1
    assert m["f1"] == pytest.approx(0.5)
    assert bio_micro_prf(g, [None, ["B-D"]])["tp"] == 0  # missing and wrong-length are all-O


def test_rouge_char_split_and_empty() -> None:
    assert char_split("CRP正常") == "crp 正 常"
    assert char_split("") == "无 。"
    assert rouge_f(["头痛"], ["头痛"])["rougeL"] == pytest.approx(1.0, abs=1e-6)
    # "头 痛" vs "头 晕": 1 of 2 unigrams -> rouge-1 f 0.5, no shared bigram
    m = rouge_f(["头痛"], ["头晕"])
    assert m["rouge1"] == pytest.approx(0.5, abs=1e-6) and m["rouge2"] == pytest.approx(0.0, abs=1e-6)
    assert rouge_f([""], [""])["rougeL"] == pytest.approx(1.0, abs=1e-6)  # both empty -> "无 。" each
