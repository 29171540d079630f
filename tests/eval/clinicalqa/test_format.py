"""The ClinicalQA format: the shipped sample set satisfies schema.json, the run-time validator agrees with the
schema on bad rows, and the converters read the shared sets without ever taking model outputs as references."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from medgo.data.jsonl import Reject
from medgo.errors import DataError
from medgo.eval.clinicalqa import SAMPLE_PATH, build_prompt, load_cases, schema, validate_case
from medgo.eval.clinicalqa.convert import load_set, split_cmb_case


def test_sample_set_matches_schema() -> None:
    rows = [json.loads(ln) for ln in SAMPLE_PATH.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 30
    for r in rows:
        jsonschema.validate(r, schema())
        assert validate_case(r) is None
        assert r["reference"] and r["rubric"] and r["reference_origin"] == "project"
        # every rubric point is reachable from the reference (the reference answers its own rubric)
        assert all(any(p in r["reference"] for p in (x.get("match") or [x["point"]])) for x in r["rubric"]), r["id"]
    assert len({r["id"] for r in rows}) == len(rows)
    assert len({r["department"] for r in rows}) >= 10 and len({r["qtype"] for r in rows}) >= 6


BAD = [
    ({"department": "x", "qtype": "diagnosis", "case": {}, "question": "q"}, "missing id"),
    ({"id": "1", "department": "x", "qtype": "d", "case": {"chief_complaint": 3}, "question": "q"}, "bad case"),
    ({"id": "1", "department": "x", "qtype": "d", "case": {}, "question": "q", "rubric": [{"weight": 1}]}, "bad rubric"),
    ({"id": "1", "department": "x", "qtype": "d", "case": {}, "question": "q",
      "rubric": [{"point": "p", "weight": 0}]}, "bad rubric"),
    ({"id": "1", "department": "x", "qtype": "d", "case": {}, "question": ""}, "missing question"),
]


@pytest.mark.parametrize(("row", "why"), BAD)
def test_validator_and_schema_reject_the_same_rows(row: dict, why: str) -> None:
    assert validate_case(row).startswith(why)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(row, schema())


def test_load_cases_rejects_and_duplicate_ids(tmp_path: Path) -> None:
    good = {"id": "a", "department": "", "qtype": "other", "case": {}, "question": "头痛怎么办？"}
    p = tmp_path / "c.jsonl"
    p.write_text("\n".join([json.dumps(good), "{bad json", json.dumps({**good, "id": ""})]) + "\n", encoding="utf-8")
    rej: list[Reject] = []
    rows = load_cases(p, rej)
    assert [r["id"] for r in rows] == ["a"] and [r.line for r in rej] == [2, 3]
    assert rows[0]["reference"] is None and rows[0]["case"]["chief_complaint"] == ""
    assert build_prompt(rows[0]) == [{"role": "user", "content": "头痛怎么办？"}]  # empty case: question only
    p.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="duplicate id"):
        load_cases(p)


def test_prompt_lists_only_filled_case_fields() -> None:
    c = load_set("sample", None)[0][0]
    text = build_prompt(c)[0]["content"]
    assert "主诉：胸骨后压榨样疼痛2小时" in text and text.endswith("问题：" + c["question"])
    c2 = {**c, "case": {**c["case"], "past_history": ""}}
    assert "既往史" not in build_prompt(c2)[0]["content"]


def test_cmb_case_split() -> None:
    text = "现病史\n（1）病史摘要\n  病人，男，49岁，腹痛。\n（2）主诉\n  右下腹痛3小时。\n\n体格检查\nT 37.8℃\n\n辅助检查\nWBC 5.0"
    c = split_cmb_case(text)
    assert c == {"chief_complaint": "右下腹痛3小时。", "present_illness": "病人，男，49岁，腹痛。", "past_history": "",
                 "physical_exam": "T 37.8℃", "labs_imaging": "WBC 5.0"}


def test_converters_on_shared_data(shared_data: Path) -> None:
    cmd, _ = load_set("cmd", shared_data)
    assert len(cmd) == 120 and all(c["reference"] and c["reference_origin"] == "doctor" for c in cmd)
    raw = json.loads((shared_data / "corpora/DISC-MedLLM/eval/samples/cmd_samples.json").read_text(encoding="utf-8"))
    assert cmd[0]["reference"] == raw[0]["raw_anwser"].strip()
    # question-only sets: machine-written outputs in these files are never references
    for name in ("cmb-clin", "huatuo100"):
        cs, _ = load_set(name, shared_data)
        assert cs and all(c["reference"] is None for c in cs)
    cmb = load_set("cmb-clin", shared_data)[0]
    assert all(c["case"]["present_illness"] and not c["case"]["present_illness"].startswith("病史摘要") for c in cmb)
    assert sum(bool(c["case"]["chief_complaint"]) for c in cmb) >= 50  # some source cases have no 主诉 section
    pulse, _ = load_set("pulse-checkupqa", shared_data)
    assert len(pulse) == 150 and all(c["reference"] for c in pulse)
    with pytest.raises(DataError, match="needs the shared data"):
        load_set("cmd", None)
