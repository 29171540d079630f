from __future__ import annotations

import re

import pytest

from medgo.data.deid import DeidConfig, deidentify, find_phi, id18_valid
from medgo.data.steps import deid_file
from medgo.data.synth_phi import generate_notes, score


def test_id_checksum():
    assert id18_valid("11010519491231002X")
    assert not id18_valid("110105194912310021")


@pytest.mark.parametrize(
    "text,expected",
    [
        ("患者张三因发热入院", "患者[姓名]因发热入院"),
        ("姓名：欧阳建华 性别：男", "姓名：[姓名] 性别：男"),
        ("王建国，男，65岁，咳嗽", "[姓名]，男，65岁，咳嗽"),
        ("今日陈文君主任医师查房", "今日[姓名]主任医师查房"),
        ("家属李某某签字", "家属[姓名]签字"),
        ("身份证号11010519491231002X。", "身份证号[身份证号]。"),
        ("编号11010519491231002X", "编号[身份证号]"),
        ("编号110105194912310021", "编号[病历号]"),  # bad checksum: not an ID, but a code a bare 编号 opens is a record
        ("证件130802981118496", "证件[身份证号]"),
        ("电话13812345678，", "电话[电话]，"),
        ("手机 138-1234-5678", "手机 [电话]"),
        ("座机010-62751234转123", "座机[电话]"),
        ("住址：北京市朝阳区建国路88号3单元502室。", "住址：[地址]。"),
        ("河北省承德市双滦区陈栅子乡黄梁村人", "[地址]人"),
        ("病历号：ZY2023001，住院号 123456", "病历号：[病历号]，住院号 [病历号]"),
        ("12床患者", "[病历号]床患者"),
        ("邮箱 wang.jg@163.com", "邮箱 [邮箱]"),
        ("于2023年5月6日入院，2023-05-08出院，5月9日复查", "于[日期]入院，[日期]出院，[日期]复查"),
        ("转入北京协和医院，后回我院", "转入[医院]，后回我院"),
    ],
)
def test_each_phi_type(text, expected):
    assert deidentify(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "患者高血压10年，口服硝苯地平控释片30mg qd。",
        "WBC 10.5×10^9/L，Hb 98g/L，血钾3.2mmol/L，BP 150/90mmHg，T 38.5℃。",
        "黄芪注射液20ml ivgtt，白蛋白35g/L，甘草片2片 tid，石膏固定。",
        "患者于今日出院，患者应注意休息，向医生咨询，患者全般情况可。",
        "口服镇痛镇静药物，心前区疼痛，当地医院就诊。",
        "2型糖尿病，HbA1c 8.2%，肌酐156μmol/L，心率98次/分。",
    ],
)
def test_clinical_content_untouched(text):
    assert deidentify(text) == text


def test_date_shift_consistent_per_document():
    cfg = DeidConfig(dates="shift")
    a = deidentify("2023-05-06入院，2023-05-16出院", cfg, doc_key="doc1")
    d1, d2 = re.findall(r"\d{4}-\d{2}-\d{2}", a)
    import datetime as dt

    assert (dt.date.fromisoformat(d2) - dt.date.fromisoformat(d1)).days == 10
    assert d1 != "2023-05-06"
    assert deidentify("2023-05-06入院", cfg, doc_key="doc1").startswith(d1)


def test_hospitals_optional():
    assert deidentify("转入北京协和医院", DeidConfig(hospitals=False)) == "转入北京协和医院"


def test_synthetic_benchmark_targets():
    r = score(generate_notes(300, seed=3))
    for t in ("ID", "PHONE", "RECORD", "EMAIL", "DATE"):
        assert r["per_type"][t]["recall"] >= 0.99, t
    for t in ("NAME", "ADDRESS"):
        assert r["per_type"][t]["recall"] >= 0.95, t
    assert all(v["precision"] is None or v["precision"] >= 0.9 for v in r["per_type"].values())
    assert r["keep_rate"] == 1.0


def test_deid_file_keeps_other_fields(write_jsonl, tmp_path, rows):
    p = write_jsonl("in.jsonl", [
        {"id": "a", "text": "患者张三，电话13812345678", "label": "x", "n": 3},
        {"id": "b", "messages": [{"role": "user", "content": "我叫李四，身份证11010519491231002X"}]},
        {"id": "c", "other": 1},
    ])
    m = deid_file([p], tmp_path / "o.jsonl")
    out = rows(tmp_path / "o.jsonl")
    assert out[0] == {"id": "a", "text": "患者[姓名]，电话[电话]", "label": "x", "n": 3}
    assert out[1]["messages"][0]["content"] == "我叫李四，身份证[身份证号]"
    assert m["rows_in"] == 3 and m["rows_out"] == 2 and m["reasons"] == {"missing field": 1}


def test_find_phi_spans_do_not_overlap():
    spans = find_phi("姓名：张三 身份证号11010519491231002X 电话13812345678 2023-01-01")
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))
