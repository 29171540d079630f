"""Clinical text without people in it comes through the de-identifier unchanged (precision side of #16)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medgo.data.deid import deidentify

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo" / "corpus.jsonl"


@pytest.mark.parametrize("text", [
    "血尿酸升高，痛风患者慎用，长期使用需监测电解质。",  # 慎 is a surname, 慎用 a verb
    "饮酒者慎用；脱水患儿慎用。",
    "可能出现胃肠道反应、失眠、肌腱炎，18岁以下禁用。",  # a finding before an age, not a name
    "常见不良反应：高血钾、男性乳房发育。",  # a finding before a sex, not a name
])
def test_drug_label_text_is_kept(text: str) -> None:
    assert deidentify(text) == text


def test_names_that_are_also_words_are_still_found() -> None:
    out = deidentify("主治医师：陆海。患者高峰，男，45岁。")  # 陆海 is a place word, 高峰 a name word
    assert "陆海" not in out and "高峰" not in out


def test_the_demo_corpus_has_no_person_in_it() -> None:
    rows = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()]
    changed = [r["id"] for r in rows if deidentify(r["text"]) != r["text"]]
    assert changed == []


def test_a_surname_inside_a_listed_herb_opens_no_name() -> None:
    text = "柴胡桂枝汤，甘麦大枣汤，每日一剂。"  # 柴胡 ends where 胡 stands: no 胡桂
    assert deidentify(text) == text
