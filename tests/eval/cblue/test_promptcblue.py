"""PromptCBLUE scoring on project-made rows: empty-answer defaults, union of labels, missing predictions."""

from __future__ import annotations

import json

import pytest

from medgo.eval.suites.promptcblue import score_files, score_task
from medgo.eval.suites.promptcblue_parse import structure


def _write(path, rows) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_structure_rules() -> None:
    assert structure("CMeEE-V2", "上述句子中的实体包含：\n疾病实体：肺炎，哮喘\n药物实体：", ["疾病", "药物"]) == [
        {"entity": "肺炎", "type": "疾病"}, {"entity": "哮喘", "type": "疾病"}]
    assert structure("CHIP-STS", " 相同 ", None) == "是的"
    assert structure("CHIP-CDN", "a，b，z", ["a", "b"]) == [{"entity": "a", "type": "normalization"},
                                                          {"entity": "b", "type": "normalization"}]
    assert structure("CMeIE", "具有病因关系的头尾实体对如下：头实体为A，尾实体为B。", None) == [
        {"predicate": "病因", "subject": "A", "object": "B"}]
    for t in ("CMeEE-V2", "CMeIE", "CHIP-CDN", "CHIP-CDEE", "IMCS-V2-SR", "IMCS-V2-MRG", "MedDG", "CHIP-CTC"):
        structure(t, "：；\n\n##，", None)  # never raises


def test_cls_empty_answer_defaults_to_first_label() -> None:
    # QIC (macro): gold 病因分析,非上述类型 ; pred "" -> 非上述类型, 非上述类型 -> 非上述类型 p.5 r1 ; 病因分析 0
    s = score_task("KUAKE-QIC", ["病因分析", "非上述类型"], ["", "非上述类型"])
    assert s["score"] == pytest.approx((2 / 3 + 0) / 2)


def test_ie_both_empty_is_zero_and_overall(tmp_path) -> None:
    assert score_task("CMeEE-V2", [[]], [[]])["score"] == 0.0
    gold = [{"sample_id": "1", "task_dataset": "CHIP-STS", "target": "是的", "answer_choices": ["是的", "不是"]},
            {"sample_id": "2", "task_dataset": "CHIP-STS", "target": "不是", "answer_choices": ["是的", "不是"]},
            {"sample_id": "3", "task_dataset": "MedDG", "target": "多喝水"}]
    pred = [{"sample_id": "1", "task_dataset": "CHIP-STS", "target": "是的"},
            {"sample_id": "3", "task_dataset": "MedDG", "target": "多喝水"}]
    _write(tmp_path / "g.jsonl", gold)
    _write(tmp_path / "p.jsonl", pred)
    r = score_files(tmp_path / "g.jsonl", tmp_path / "p.jsonl")
    # STS: sample 2 missing -> "" -> 是的: gold 是的,不是 pred 是的,是的 -> weighted f1 = .5*(2/3) + .5*0
    assert r["tasks"]["CHIP-STS"]["score"] == pytest.approx(1 / 3)
    assert r["missing"] == 1
    assert r["subset_average"] == pytest.approx(100 * (1 / 3 + 1.0) / 2, abs=1e-5)
    assert r["overall"] == pytest.approx(100 * (1 / 3 + 1.0) / 18, abs=1e-5)  # official: all 18 tasks
