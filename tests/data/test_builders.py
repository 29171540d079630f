from __future__ import annotations

import json

import pytest

from medgo.data.builders_pref import build_pref, char_f1, parse_scores, rank_samples
from medgo.data.builders_sft import build_sft
from medgo.errors import DataError


def test_sft_all_formats(write_jsonl, tmp_path, rows):
    p = write_jsonl("in.jsonl", [
        {"instruction": "头痛怎么办", "input": "", "output": "休息", "history": [["你好", "您好"]]},
        {"conversations": [{"from": "human", "value": "发热"}, {"from": "gpt", "value": "多喝水"}]},
        {"messages": [{"role": "system", "content": "医生"}, {"role": "user", "content": "咳嗽"}, {"role": "assistant", "content": "止咳"}]},
        {"question": "高血压能吃党参吗", "answer": "可以"},
        {"dialogue-content": [{"speaker": "医生", "sentence": "你好"}, {"speaker": "患者", "sentence": "胃痛"},
                              {"speaker": "患者", "sentence": "三天了"}, {"speaker": "医生", "sentence": "做胃镜"}]},
        {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]},
        {"conversations": [{"from": "robot", "value": "x"}]},
        {"foo": 1},
        {"question": "", "answer": "空问题"},
    ])
    m = build_sft([p], tmp_path / "sft.jsonl")
    out = rows(tmp_path / "sft.jsonl")
    assert m["formats"] == {"alpaca": 1, "sharegpt": 1, "openai": 1, "qa": 1, "dialogue": 1}
    assert out[0]["messages"][0] == {"role": "user", "content": "你好"} and len(out[0]["messages"]) == 4
    assert out[4]["messages"] == [{"role": "user", "content": "胃痛\n三天了"}, {"role": "assistant", "content": "做胃镜"}]
    rej = rows(tmp_path / "sft.rejects.jsonl")
    assert [r["reason"].split(":")[0] for r in rej] == ["bad alternation", "bad role", "unknown format", "empty message"]
    assert [r["where"].rsplit(":", 1)[1] for r in rej] == ["6", "7", "8", "9"]
    assert m["rows_in"] == m["rows_out"] + m["rejected"]


def test_sft_qa_csv(tmp_path, rows):
    p = tmp_path / "qa.csv"
    p.write_bytes("department,title,ask,answer\n内科,高血压,能吃党参吗？,可以。\n".encode("gb18030"))
    build_sft([p], tmp_path / "o.jsonl")
    assert rows(tmp_path / "o.jsonl")[0]["messages"][0]["content"] == "高血压\n能吃党参吗？"


def test_scores_and_ranking():
    assert parse_scores("8 6") == (8.0, 6.0)
    assert parse_scores('{"role": "assistant", "content": "10 0\\n理由"}') == (10.0, 0.0)
    assert parse_scores("no") is None
    assert char_f1("发热", "发热") == 1.0 and char_f1("咳嗽", "发热") == 0.0
    assert rank_samples("q", ["发热头痛", "头痛", "咳嗽"], lambda a: char_f1(a, "发热头痛")) == ("发热头痛", "咳嗽", 1.0, 0.0)
    assert rank_samples("q", ["a", "b"], lambda a: 1.0) is None


def test_pref_judged_with_aligned_judge_file(write_jsonl, tmp_path, rows):
    d = write_jsonl("d.jsonl", [
        {"question": "q1", "model_a_predict_answer": "A1", "model_b_predict_answer": "B1"},
        {"question": "q2", "model_a_predict_answer": "A2", "model_b_predict_answer": "B2"},
        {"question": "q3", "model_a_predict_answer": "A3", "model_b_predict_answer": "B3"},
    ])
    j = write_jsonl("j.jsonl", [{"output": json.dumps({"content": "3 9\n..."})}, {"output": "5 5"}, {"output": "x"}])
    m = build_pref([d], tmp_path / "p.jsonl", mode="judged", judge_files=[j])
    out = rows(tmp_path / "p.jsonl")
    assert [(r["prompt"], r["chosen"], r["rejected"]) for r in out] == [("q1", "B1", "A1")]
    assert m["reasons"] == {"tie": 1, "bad scores": 1}


def test_pref_mcq(tmp_path, rows):
    p = tmp_path / "m.json"
    p.write_text(json.dumps([
        {"id": "1", "question": "选?", "opa": "甲", "opb": "乙", "opc": "丙", "answer": "opb", "m1": "B", "m2": "C", "m3": "A"},
        {"id": "2", "question": "选?", "opa": "甲", "opb": "乙", "answer": "opa", "m1": "A"},
    ], ensure_ascii=False), encoding="utf-8")
    m = build_pref([p], tmp_path / "o.jsonl", mode="mcq")
    out = rows(tmp_path / "o.jsonl")
    assert [(r["chosen"], r["rejected"]) for r in out] == [("B. 乙", "A. 甲"), ("B. 乙", "C. 丙")]
    assert m["pairs"] == 2 and m["rows_in"] == m["rows_out"] + m["rejected"] == 2


def test_pref_qa_labels(tmp_path, rows):
    p = tmp_path / "dev.txt"
    p.write_text("1\t头痛\t休息\n0\t头痛\t截肢\n0\t头痛\t喝酒\n1\t发热\t补液\n", encoding="utf-8")
    m = build_pref([p], tmp_path / "o.jsonl", mode="qa")
    assert [(r["chosen"], r["rejected"]) for r in rows(tmp_path / "o.jsonl")] == [("休息", "截肢"), ("休息", "喝酒")]
    assert m["reasons"] == {"unpaired": 1} and m["rows_in"] == m["rows_out"] + m["rejected"]


def test_pref_sampled(write_jsonl, tmp_path, rows):
    p = write_jsonl("s.jsonl", [
        {"prompt": "q", "reference": "多喝水休息", "answers": ["多喝水休息", "吃药", "多喝水"]},
        {"prompt": "q", "answers": ["a", "b"], "scores": [1, 1]},
        {"prompt": "q", "answers": ["a"]},
    ])
    m = build_pref([p], tmp_path / "o.jsonl", mode="sampled")
    assert [(r["chosen"], r["rejected"]) for r in rows(tmp_path / "o.jsonl")] == [("多喝水休息", "吃药")]
    assert m["reasons"] == {"tie": 1, "too few samples": 1}


def test_pref_no_inputs(tmp_path):
    with pytest.raises(DataError):
        build_pref([], tmp_path / "o.jsonl", mode="qa")
