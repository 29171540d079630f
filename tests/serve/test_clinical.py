"""Clinical assess: the published schema, repair and regeneration, on a real server."""

from __future__ import annotations

import json

import jsonschema
import pytest
import requests
from fakes import CASE, VALID, ScriptedEngine

from medgo.serve.clinical import parse_assessment, published_schema, schema_now


def test_published_schema_file_matches_code() -> None:
    assert published_schema() == schema_now()


@pytest.mark.parametrize(
    "text,repaired",
    [
        (json.dumps(VALID, ensure_ascii=False), False),
        ("```json\n" + json.dumps(VALID, ensure_ascii=False) + "\n```", True),
        (
            '好的：{"diagnosis": "肺炎", "differential": ["支气管炎", "肺结核"], '
            '"next_steps": "胸片；血常规", '
            '"red_flags": "呼吸困难",}',
            True,
        ),
    ],
)
def test_parse_and_repair(text: str, repaired: bool) -> None:
    a, notes = parse_assessment(text)
    assert a is not None and bool(notes) == repaired
    assert a.disclaimer


def test_unrepairable_is_refused() -> None:
    for text in ("诊断是肺炎", '{"differential": []}', "[1, 2]"):
        a, notes = parse_assessment(text)
        assert a is None and notes


def test_assess_outcomes_validate_against_published_schema(serve) -> None:
    good = json.dumps(VALID, ensure_ascii=False)
    engine = ScriptedEngine([good, "```json\n" + good + "```", "胡言乱语", good, "x", "y", "z"])
    srv = serve(engine=engine, assess_attempts=3)
    schema = published_schema()
    outcomes = []
    for _ in range(4):
        r = requests.post(srv.url + "/v1/clinical/assess", json=CASE, timeout=30)
        if r.status_code == 200:
            jsonschema.validate(r.json(), schema)
            outcomes.append(r.json()["meta"]["outcome"])
        else:
            assert r.status_code == 502 and r.json()["error"]["code"] == "assessment_invalid"
            outcomes.append("failed")
    assert outcomes == ["valid", "repaired", "regenerated", "failed"]
    assert (
        engine.seen[2] == 0.0 and engine.seen[3] >= 0.7
    )  # a regeneration samples instead of repeating itself
    bad = requests.post(srv.url + "/v1/clinical/assess", json={"present_illness": "无主诉"})
    assert bad.status_code == 422 and "chief_complaint" in bad.json()["error"]["message"]
    assert requests.get(srv.url + "/v1/clinical/schema").json() == schema


def test_assess_with_tiny_model_never_passes_invalid_output(serve) -> None:
    srv = serve(assess_attempts=2)
    r = requests.post(srv.url + "/v1/clinical/assess", json={**CASE, "max_tokens": 24}, timeout=60)
    if r.status_code == 200:  # only ever schema-valid
        jsonschema.validate(r.json(), published_schema())
    else:
        assert r.status_code == 502 and "nothing unvalidated" in r.json()["error"]["message"]
