"""Tasks as data: registry, parsers that never crash, official-format scoring on project-made records."""

from __future__ import annotations

import json

import pytest

from medgo.errors import DataError
from medgo.eval.suites.cblue import score_records
from medgo.eval.suites.cblue_special import score_imcs_dac, score_imcs_ner, score_imcs_sr, score_kuake_ir
from medgo.eval.tasks import get_task, task_names

GARBAGE = ["", "\n\n", "：：：", "|||", "主体词：", "无", "x" * 500, "类型：a，b\n疾病：", "##", "🙂"]


def test_registry_lists_cblue_tasks() -> None:
    for name in ("CMeEE-V2", "CMeIE-V2", "CHIP-CDN", "CHIP-CDEE", "CHIP-CTC", "CHIP-STS", "KUAKE-QIC",
                 "KUAKE-QTR", "KUAKE-QQR"):
        assert name in task_names()
    assert get_task("cmeee-v2").name == "CMeEE-V2"
    with pytest.raises(DataError):
        get_task("nope")


NATIVE = [n for n in task_names() if not n.startswith("PromptCBLUE-")]


@pytest.mark.parametrize("name", NATIVE)
def test_parsers_never_crash_and_answers_round_trip(name: str) -> None:
    task = get_task(name)
    rows, _ = task.load("dev")  # project samples
    assert rows and all(len(t.text) > 0 for t in task.templates) and any(t.shots for t in task.templates)
    for ex in rows:
        for text in GARBAGE:
            task.parse(text, ex)  # must not raise
        gold = task.gold(ex)
        parsed = task.parse(task.answer(gold, ex), ex)
        assert parsed is not None
        if task.kind in ("tree", "generation", "attr"):  # structured golds: the answer must score like the gold
            assert task.score("cblue", [gold], [parsed], [ex])["score"] == task.score("cblue", [gold], [gold], [ex])["score"]
        elif task.kind != "ner":  # NER answers are mentions; every occurrence in the text is located
            assert set(parsed if isinstance(parsed, list) else [parsed]) == set(gold if isinstance(gold, list) else [gold])
        else:
            assert set(gold) <= set(parsed)


def test_ner_parse_locates_spans_inclusive_end() -> None:
    task = get_task("CMeEE-V2")
    ex = {"text": "咳嗽伴发热，咳嗽加重"}
    assert task.parse("临床表现：咳嗽，发热\n未知类型：x", ex) == [(0, 1, "sym"), (3, 4, "sym"), (6, 7, "sym")]
    assert task.parse("无", ex) == [] and task.parse("随便说点什么", ex) is None


def test_classification_parse() -> None:
    qtr = get_task("KUAKE-QTR")
    assert qtr.parse("完全不匹配", {}) == "0" and qtr.parse("答案是部分匹配。", {}) == "2"
    assert qtr.parse("3", {}) == "3" and qtr.parse("不知道", {}) is None


def test_score_records_by_id_and_by_position() -> None:
    qic = get_task("KUAKE-QIC")
    gold = [{"id": "a", "query": "q1", "label": "治疗方案"}, {"id": "b", "query": "q2", "label": "其他"}]
    pred = [{"id": "b", "query": "q2", "label": "其他"}, {"id": "z", "query": "q9", "label": "其他"}]
    r = score_records(qic, gold, pred)
    assert r["score"] == pytest.approx(0.5) and r["missing"] == 1 and r["unmatched_pred"] == 1
    cdn = get_task("CHIP-CDN")
    g = [{"text": "t1", "normalized_result": "A##B"}, {"text": "t2", "normalized_result": "C"}]
    p = [{"text": "t1", "normalized_result": "A##A##D"}]
    r = score_records(cdn, g, p)  # tp1 (A) fp1 (D) fn2 (B, C)
    assert (r["tp"], r["fp"], r["fn"]) == (1, 1, 2)
    with pytest.raises(DataError):
        score_records(cdn, g, [{"text": "other", "normalized_result": "A"}])


def test_cdee_conventions_differ_on_list_order() -> None:
    task = get_task("CHIP-CDEE")
    g = [[("痛", "", ("a", "b"), ())]]
    p = [[("痛", "", ("b", "a"), ())]]
    assert task.score("cblue", g, p, [{}])["f1"] == 1.0  # lists compare as sets
    assert task.score("promptcblue", g, p, [{}])["f1"] == 0.0  # PromptCBLUE json-dumps lists in order


def test_special_scorers(tmp_path) -> None:
    (tmp_path / "g.tsv").write_text("1\tp1\n1\tp2\n2\tp9\n", encoding="utf-8")
    (tmp_path / "p.tsv").write_text("1\tx,p2,p1\n3\tp1\n", encoding="utf-8")
    assert score_kuake_ir(tmp_path / "g.tsv", tmp_path / "p.tsv")["score"] == pytest.approx(0.25)
    gold = {"d1": {"dialogue": [
        {"sentence_id": "1", "BIO_label": "B-Symptom I-Symptom O", "dialogue_act": "Inform-Symptom",
         "local_implicit_info": {"发热": "1"}},
        {"sentence_id": "2", "BIO_label": "O B-Drug", "dialogue_act": "Diagnose", "local_implicit_info": {}},
    ]}}
    (tmp_path / "g.json").write_text(json.dumps(gold), encoding="utf-8")
    (tmp_path / "ner.json").write_text(json.dumps({"d1": {"1": "B-Symptom I-Symptom O", "2": "O O"}}), encoding="utf-8")
    assert score_imcs_ner(tmp_path / "g.json", tmp_path / "ner.json")["score"] == pytest.approx(2 / 3)
    (tmp_path / "dac.json").write_text(json.dumps({"d1": {"1": "Inform-Symptom"}}), encoding="utf-8")
    assert score_imcs_dac(tmp_path / "g.json", tmp_path / "dac.json")["score"] == pytest.approx(0.5)
    (tmp_path / "sr.json").write_text(json.dumps({"d1": {"1": {"发热": "1", "咳嗽": "0"}, "2": {}}}), encoding="utf-8")
    assert score_imcs_sr(tmp_path / "g.json", tmp_path / "sr.json")["score"] == pytest.approx(2 / 3)
