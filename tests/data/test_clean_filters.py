from __future__ import annotations

from medgo.data.clean import normalize_text
from medgo.data.filters import (
    FilterConfig,
    apply_filters,
    build_filters,
    cjk_ratio,
    dup_line_ratio,
    top_ngram_ratio,
)
from medgo.data.steps import clean_files


def test_normalize():
    raw = "<p>患者　ＡＢＣ１２３，血压 １２０/８０mmHg &amp; 心率<b>88</b>次</p><script>x()</script>\x07\u200b\r\n\n\n\n  完"
    assert normalize_text(raw) == "患者 ABC123，血压 120/80mmHg & 心率88次\n\n完"


def test_normalize_keeps_chinese_punctuation_and_is_idempotent():
    s = "发热（38.5℃）！WBC 12×10⁹/L，①咳嗽？是：否；"
    assert normalize_text(s) == s
    assert normalize_text(normalize_text("ＡＢ  中 文")) == normalize_text("ＡＢ  中 文") == "AB 中文"


def test_filters_each_reason():
    fs = build_filters(FilterConfig(min_chars=5, max_chars=500))
    assert apply_filters("短", fs).startswith("too short")
    assert apply_filters("字" * 501, fs).startswith("too long")
    assert apply_filters("this is an english sentence only", fs).startswith("low cjk ratio")
    assert apply_filters("\n".join(["重复的一行内容"] * 5 + ["不同"]), fs).startswith("repeated lines")
    assert apply_filters("哈哈哈哈" * 60, fs).startswith("repeated ngrams")
    assert apply_filters("版权所有\n点击查看\n扫码关注公众号\n正文", fs).startswith("boilerplate")
    assert apply_filters("患者因发热三天就诊，查体体温38.5℃，予以对症治疗。", fs) is None


def test_metrics():
    assert cjk_ratio("中文ab") == 0.5
    assert dup_line_ratio("a\nb\nc") == 0.0
    assert top_ngram_ratio("短文本", 4) == 0.0


def test_clean_files_accounting_and_fields_kept(write_jsonl, tmp_path, rows):
    p = write_jsonl("in.jsonl", [
        {"id": "1", "text": "患者因发热三天就诊，查体体温38.5℃。", "meta": {"k": 1}},
        {"id": "2", "text": "短"},
        {"id": "3", "text": ""},
        {"id": "4", "body": "no text field"},
    ], raw_lines=['{"text": "trunc'])
    m = clean_files([p], tmp_path / "out", filters=FilterConfig(min_chars=5))
    out = rows(tmp_path / "out" / "clean.jsonl")
    assert [r["id"] for r in out] == ["1"] and out[0]["meta"] == {"k": 1} and out[0]["source"] == "in.jsonl"
    assert m["rows_in"] == 5 and m["rows_out"] == 1 and m["rejected"] == 4
    assert m["reasons"] == {"bad json": 1, "missing field": 1, "too short": 2}
    rej = rows(tmp_path / "out" / "clean.rejects.jsonl")
    assert {r["where"] for r in rej} == {f"{p}:2", f"{p}:3", f"{p}:4", f"{p}:5"}
