"""Reference-based scores against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from medgo.eval.suites.clinicalqa import (
    aggregate,
    bleu,
    corpus_sacrebleu,
    must_not_say_hits,
    reference_scores,
    rouge_l,
    rubric_coverage,
)


def test_rouge_l_char_level() -> None:
    # LCS 3 of 3 / 4 chars: P = 1, R = 3/4, F = 2PR/(P+R) = 6/7
    assert rouge_l("高血压", "高血压病") == pytest.approx(6 / 7, abs=1e-6)
    # LCS('心肌梗死', '急性心肌梗死') = 4: P = 1, R = 2/3, F = 0.8
    assert rouge_l("心肌梗死", "急性心肌梗死") == pytest.approx(0.8, abs=1e-6)
    # order matters for the LCS: 'ABDC' vs 'ABCD' -> LCS 3: F = 0.75
    assert rouge_l("甲乙丁丙", "甲乙丙丁") == pytest.approx(0.75, abs=1e-6)
    assert rouge_l("", "高血压") == pytest.approx(0.0)


def test_bleu_zh() -> None:
    assert bleu("急性心肌梗死", "急性心肌梗死") == pytest.approx(100.0)
    # hypothesis 5 chars vs reference 4: p1..p4 = 4/5, 3/4, 2/3, 1/2; no brevity penalty
    assert bleu("高血压病人", "高血压病") == pytest.approx(100 * (4 / 5 * 3 / 4 * 2 / 3 * 1 / 2) ** 0.25, abs=1e-3)
    # hypothesis shorter: all precisions 1, brevity penalty exp(1 - 5/4)
    assert bleu("高血压病", "高血压病人") == pytest.approx(100 * math.exp(1 - 5 / 4), abs=1e-3)
    assert corpus_sacrebleu(["高血压病", "糖尿病"], ["高血压病", "糖尿病"]) == pytest.approx(100.0)


def test_rubric_coverage_weighted() -> None:
    rub = [{"point": "心肌梗死", "weight": 3.0, "match": ["心梗", "心肌梗死"]}, {"point": "PCI", "weight": 1.0}]
    assert rubric_coverage("考虑急性心梗", rub) == (0.75, [True, False])
    assert rubric_coverage("心梗，急诊PCI", rub) == (1.0, [True, True])
    assert rubric_coverage("无关", []) == (None, [])


def test_must_not_say_ignores_negated_advice() -> None:
    items = [{"point": "回家观察", "match": ["回家观察", "在家观察"]}]
    assert must_not_say_hits("建议先回家观察", items) == ["回家观察"]
    assert must_not_say_hits("切忌在家观察，应立即就医", items) == []
    assert must_not_say_hits("不要回家观察。若症状轻也可回家观察", items) == ["回家观察"]  # second one counts


def test_reference_scores_and_aggregate() -> None:
    case = {"reference": "高血压病", "rubric": [{"point": "高血压", "weight": 1.0}], "must_not_say": []}
    s = reference_scores("高血压", case)
    assert s["rougeL"] == pytest.approx(6 / 7, abs=1e-6) and s["rubric_coverage"] == 1.0
    assert s["must_not_say_hits"] is None  # no must-not-say points: not scored, not zero
    noref = reference_scores("高血压", {"reference": None, "rubric": []})
    assert noref["rougeL"] is None and noref["bleu"] is None
    rows = [{"department": "心内", "scores": {"model": {"rougeL": 0.5}}},
            {"department": "心内", "scores": {"model": {"rougeL": None}}},
            {"department": "呼吸", "scores": {"model": {"rougeL": 1.0}}}]
    assert aggregate(rows, "model", ["rougeL"])["all"] == {"n": 3, "rougeL": 0.75, "n_rougeL": 2}
    by = aggregate(rows, "model", ["rougeL"], "department")
    assert by["心内"]["rougeL"] == 0.5 and by["呼吸"]["rougeL"] == 1.0
