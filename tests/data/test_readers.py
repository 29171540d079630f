from __future__ import annotations

import codecs
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from medgo.data.manifest import RejectWriter, StepStats
from medgo.data.readers import detect_encoding, iter_records
from medgo.errors import DataError

TEXT = "患者男，45岁，咳嗽三天。\n\n阿莫西林0.5g tid。\n"


@pytest.mark.parametrize(
    "enc,expected",
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030"), ("gbk", "gb18030"), ("utf-16", "utf-16"),
     ("utf-16-le", "utf-16-le")],
)
def test_encodings_detected_and_decoded(tmp_path, enc, expected):
    p = tmp_path / "a.txt"
    p.write_bytes(TEXT.encode(enc))
    assert detect_encoding(p) == expected
    docs = [r.row["text"] for r in iter_records(p)]
    assert docs == ["患者男，45岁，咳嗽三天。", "阿莫西林0.5g tid。"]


def test_gb18030_csv_with_utf8_copy_equivalent(tmp_path):
    rows = "department,title,ask,answer\n内科,高血压,能吃党参吗？,可以。\n"
    (tmp_path / "a.csv").write_bytes(rows.encode("gb18030"))
    (tmp_path / "b.csv").write_bytes(rows.encode("utf-8"))
    a = [r.row for r in iter_records(tmp_path / "a.csv")]
    b = [r.row for r in iter_records(tmp_path / "b.csv")]
    assert a == b == [{"department": "内科", "title": "高血压", "ask": "能吃党参吗？", "answer": "可以。"}]


def test_txt_modes(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("第一行\n第二行\n\n第三段\n", encoding="utf-8")
    assert [r.row["text"] for r in iter_records(p, txt_mode="line")] == ["第一行", "第二行", "第三段"]
    assert [(r.row["text"], r.line) for r in iter_records(p)] == [("第一行\n第二行", 1), ("第三段", 4)]
    assert [r.row["text"] for r in iter_records(p, txt_mode="file")] == ["第一行\n第二行\n\n第三段\n"]


def test_jsonl_truncated_and_bad_bytes_are_rejected_with_line(tmp_path, rows):
    p = tmp_path / "a.jsonl"
    p.write_bytes('{"text": "好"}\n{"text": "截断\n'.encode() + b'{"text": "\xff\xfe bad"}\n' + b'[1, 2]\n{"text": "ok"}\n')
    stats = StepStats("t")
    with RejectWriter(tmp_path / "rej.jsonl", stats) as rej:
        texts = [r.row["text"] for r in iter_records(p, rej, stats)]
    assert texts == ["好", "ok"]
    rejects = rows(tmp_path / "rej.jsonl")
    assert [(r["where"].rsplit(":", 1)[1], r["reason"].split(":")[0]) for r in rejects] == [
        ("2", "bad json"), ("3", "bad encoding"), ("4", "bad json")]
    assert stats.rows_in == 5 and stats.rejected == 3


def test_json_array_of_objects_and_strings(tmp_path):
    p = tmp_path / "a.json"
    p.write_text('[{"text": "甲"}, "乙", 3]', encoding="utf-8")
    stats = StepStats("t")
    out = [r.row for r in iter_records(p, None, stats)]
    assert out == [{"text": "甲"}, {"text": "乙"}]
    assert stats.reasons == {"bad json": 1}


def test_csv_ragged_row_rejected_and_tsv_headerless(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("q,a\n问,答\n只有一列\n", encoding="utf-8")
    stats = StepStats("t")
    assert [r.row for r in iter_records(p, None, stats)] == [{"q": "问", "a": "答"}]
    assert stats.reasons == {"bad csv": 1}
    t = tmp_path / "a.tsv"
    t.write_text("1\t问题\t回答\n", encoding="utf-8")
    assert [r.row for r in iter_records(t, columns=["label", "question", "answer"])] == [
        {"label": "1", "question": "问题", "answer": "回答"}]


def test_parquet(tmp_path):
    p = tmp_path / "a.parquet"
    pq.write_table(pa.table({"text": ["一", "二"], "source": ["s", "s"]}), p)
    assert [r.row["text"] for r in iter_records(p)] == ["一", "二"]


def test_binary_junk_is_a_data_error(tmp_path):
    p = tmp_path / "junk.txt"
    p.write_bytes(os.urandom(4096) + b"\x00" * 10)
    with pytest.raises(DataError, match="binary|encoding"):
        list(iter_records(p))


def test_ten_megabyte_single_line(tmp_path):
    p = tmp_path / "big.jsonl"
    p.write_text('{"text": "' + "字" * 10_000_000 + '"}\n{"text": "小"}\n', encoding="utf-8")
    rows = [len(r.row["text"]) for r in iter_records(p)]
    assert rows == [10_000_000, 1]


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        list(iter_records(tmp_path / "nope.jsonl"))


def test_utf16_bom_constant():
    assert codecs.BOM_UTF16_LE.startswith(b"\xff")
