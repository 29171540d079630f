"""ClinicalQA cases: the JSONL format (schema.json beside this file), validation with rejects, the project's own
sample set, and the prompt a case becomes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from medgo.data.jsonl import Reject, read_jsonl
from medgo.errors import DataError

HERE = Path(__file__).parent
SCHEMA_PATH = HERE / "schema.json"
SAMPLE_PATH = HERE / "samples" / "clinicalqa_sample.jsonl"
CASE_FIELDS = {"chief_complaint": "主诉", "present_illness": "现病史", "past_history": "既往史",
               "physical_exam": "体格检查", "labs_imaging": "辅助检查"}
QTYPES = ("diagnosis", "differential", "treatment", "examination", "medication", "prognosis", "education", "other")

Case = dict[str, Any]


def _str_list_ok(items: Any, key: str) -> str | None:
    if not isinstance(items, list):
        return f"bad {key}: must be a list"
    for it in items:
        if not isinstance(it, dict) or not isinstance(it.get("point"), str) or not it["point"].strip():
            return f"bad {key}: every item needs a non-empty 'point'"
        m = it.get("match", [])
        if not isinstance(m, list) or not all(isinstance(x, str) and x for x in m):
            return f"bad {key}: 'match' must be a list of non-empty strings"
        w = it.get("weight", 1.0)
        if key == "rubric" and (not isinstance(w, (int, float)) or isinstance(w, bool) or w <= 0):
            return "bad rubric: 'weight' must be a positive number"
    return None


def validate_case(row: dict[str, Any]) -> str | None:
    """Reason to reject a row, or None. Mirrors schema.json (no jsonschema at run time; the tests check both
    agree)."""
    for k in ("id", "question"):
        if not isinstance(row.get(k), str) or not row[k].strip():
            return f"missing {k}: a non-empty string is required"
    for k in ("department", "qtype"):
        if not isinstance(row.get(k), str):
            return f"missing {k}: a string is required (may be empty for department)"
    case = row.get("case")
    if not isinstance(case, dict) or not all(isinstance(v, str) for v in case.values()):
        return "bad case: an object of strings is required (fields may be empty)"
    ref = row.get("reference")
    if ref is not None and not isinstance(ref, str):
        return "bad reference: a string or null"
    for key in ("rubric", "must_not_say"):
        if key in row and (why := _str_list_ok(row[key], key)):
            return why
    return None


def normalise(row: dict[str, Any]) -> Case:
    out = dict(row)
    out["case"] = {k: str(row["case"].get(k, "") or "") for k in CASE_FIELDS} | {
        k: v for k, v in row["case"].items() if k not in CASE_FIELDS}
    out.setdefault("reference", None)
    out["rubric"] = [{"point": r["point"], "weight": float(r.get("weight", 1.0)), "match": list(r.get("match") or [])}
                     for r in row.get("rubric") or []]
    out["must_not_say"] = [{"point": r["point"], "match": list(r.get("match") or [])}
                           for r in row.get("must_not_say") or []]
    return out


def load_cases(path: str | Path, rejects: list[Reject] | None = None) -> list[Case]:
    """Valid cases of a ClinicalQA JSONL file; invalid rows go to `rejects`. Duplicate ids are a DataError
    (answers and reviews are joined by id)."""
    rows = [normalise(r) for r in read_jsonl(path, validate=validate_case, rejects=rejects)]
    seen: set[str] = set()
    for r in rows:
        if r["id"] in seen:
            raise DataError(f"{path}: duplicate id {r['id']!r}", hint="ids must be unique within a set")
        seen.add(r["id"])
    return rows


def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def case_text(case: Case) -> str:
    """The clinical case as labelled lines; empty fields are left out."""
    lines = [f"{label}：{case['case'].get(k, '')}" for k, label in CASE_FIELDS.items() if case["case"].get(k)]
    lines += [f"{k}：{v}" for k, v in case["case"].items() if k not in CASE_FIELDS and v]
    return "\n".join(lines)


def build_prompt(case: Case) -> list[dict[str, str]]:
    body = case_text(case)
    text = f"以下是患者的病例信息：\n{body}\n\n问题：{case['question']}" if body else case["question"]
    return [{"role": "user", "content": text}]
