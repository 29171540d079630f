import json

import pytest

from medgo.data.jsonl import Reject
from medgo.errors import DataError
from medgo.retrieval import read_passages


def test_reads_every_format(tmp_path):
    (tmp_path / "a.jsonl").write_text(
        json.dumps({"id": "j1", "text": "头痛", "title": "症状"}, ensure_ascii=False)
        + "\n"
        + json.dumps({"text": "发烧"}, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    (tmp_path / "b.txt").write_text("咳嗽\n\n腹泻\n", encoding="utf-8")
    (tmp_path / "c.csv").write_text("id,title,text\nc1,标题,胸闷\n", encoding="utf-8")
    (tmp_path / "d.tsv").write_text("100\t失眠多梦\n", encoding="utf-8")
    got = read_passages([tmp_path / n for n in ("a.jsonl", "b.txt", "c.csv", "d.tsv")])
    assert [(p.id, p.title, p.text) for p in got] == [
        ("j1", "症状", "头痛"),
        ("a:2", "", "发烧"),
        ("b:1", "", "咳嗽"),
        ("b:3", "", "腹泻"),
        ("c1", "标题", "胸闷"),
        ("100", "", "失眠多梦"),
    ]


def test_bad_jsonl_rows_are_rejected_with_a_reason(tmp_path):
    (tmp_path / "a.jsonl").write_text(
        '{"id": "x", "text": "头痛"}\n{"id": "y"}\nnot json\n', encoding="utf-8"
    )
    rejects: list[Reject] = []
    assert [p.id for p in read_passages([tmp_path / "a.jsonl"], rejects)] == ["x"]
    assert [r.line for r in rejects] == [2, 3] and "missing text" in rejects[0].reason


@pytest.mark.parametrize(
    ("name", "body", "match"),
    [
        ("a.csv", "id,body\n1,x\n", "no 'text' column"),
        ("a.tsv", "only-one-column\n", "pid<TAB>passage"),
        ("a.xml", "<x/>", "unsupported format"),
        ("a.txt", None, "file not found"),
    ],
)
def test_unusable_files_name_the_problem(tmp_path, name, body, match):
    if body is not None:
        (tmp_path / name).write_text(body, encoding="utf-8")
    with pytest.raises(DataError, match=match):
        read_passages([tmp_path / name])


def test_duplicate_ids_across_files_are_refused(tmp_path):
    (tmp_path / "a.tsv").write_text("1\t头痛\n", encoding="utf-8")
    (tmp_path / "b.tsv").write_text("1\t发烧\n", encoding="utf-8")
    with pytest.raises(DataError, match="duplicate passage id '1'"):
        read_passages([tmp_path / "a.tsv", tmp_path / "b.tsv"])


def test_non_utf8_is_a_data_error(tmp_path):
    (tmp_path / "a.txt").write_bytes(
        "高血压患者能吃党参吗".encode("gb18030")
    )  # the real 内科 files are GB18030
    with pytest.raises(DataError, match="not UTF-8"):
        read_passages([tmp_path / "a.txt"])
