"""Structured outputs valid by construction: response_format (json_object, json_schema strict) and the
clinical assessment decoded under its schema, from the tiny model, in both transformers engines."""

from __future__ import annotations

import json
import random
from concurrent.futures import ThreadPoolExecutor

import jsonschema
import openai
import pytest
import requests
from pydantic import BaseModel

from medgo.serve.clinical import published_schema

PATIENT = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 12},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "symptoms": {"type": "array", "items": {"type": "string", "maxLength": 10}, "maxItems": 3},
        "urgent": {"type": "boolean"},
        "triage": {"enum": ["红", "黄", "绿"]},
    },
    "required": ["name", "age", "symptoms", "urgent", "triage"],
    "additionalProperties": False,
}


def client(srv) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0, timeout=120)


class Triage(BaseModel):
    department: str
    priority: int
    reasons: list[str]


@pytest.mark.parametrize("batching", ["continuous", "static"])
def test_response_format_json_schema_and_object(serve, batching) -> None:
    srv = serve(batching=batching)
    c = client(srv)
    msgs = [{"role": "user", "content": "患者男性，五十岁，胸痛三天。请给出JSON。"}]
    for i, temp in enumerate([0.0, 1.2]):
        r = c.chat.completions.create(
            model="m", messages=msgs, temperature=temp, seed=i, max_tokens=90,
            response_format={"type": "json_schema", "json_schema": {"name": "patient", "schema": PATIENT, "strict": True}},
        )
        jsonschema.validate(json.loads(r.choices[0].message.content), PATIENT)
        assert r.choices[0].finish_reason == "stop"
    obj = c.chat.completions.create(model="m", messages=msgs, max_tokens=30, response_format={"type": "json_object"})
    assert isinstance(json.loads(obj.choices[0].message.content), dict)
    # the SDK's own structured-output helper: a pydantic model in, a parsed instance out
    parsed = c.chat.completions.parse(model="m", messages=msgs, max_tokens=80, response_format=Triage)
    assert isinstance(parsed.choices[0].message.parsed, Triage)
    # streamed under a schema: the pieces join into valid JSON
    text = "".join(
        ch.choices[0].delta.content or ""
        for ch in c.chat.completions.create(
            model="m", messages=msgs, max_tokens=90, stream=True, temperature=0.9, seed=5,
            response_format={"type": "json_schema", "json_schema": {"name": "p", "schema": PATIENT}},
        )
        if ch.choices
    )
    jsonschema.validate(json.loads(text), PATIENT)


def test_bad_response_format_is_a_400_naming_the_field(serve) -> None:
    srv = serve()
    url = srv.url + "/v1/chat/completions"
    msgs = [{"role": "user", "content": "x"}]
    for rf, param in (
        ({"type": "yaml"}, "response_format.type"),
        ({"type": "json_schema", "json_schema": {"name": "x"}}, "response_format.json_schema.schema"),
        ({"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "nonsense"}}}, "response_format"),
    ):
        r = requests.post(url, json={"messages": msgs, "response_format": rf}, timeout=30)
        assert r.status_code == 400 and r.json()["error"]["param"] == param, r.text


CHIEF = ["胸痛3小时", "发热咳嗽5天", "头痛伴呕吐1天", "腹痛腹泻2天", "气促加重1周", "多饮多尿3月", "皮疹瘙痒",
         "意识模糊2小时", "心悸乏力", "下肢水肿", "反复咯血", "关节肿痛"]
HISTORY = ["活动后加重，休息后缓解", "体温39℃，咳黄痰", "既往高血压10年", "夜间不能平卧", "", "伴恶心"]
LABS = ["肌钙蛋白升高", "白细胞15×10^9/L", "BNP 1800 pg/mL", "空腹血糖11 mmol/L", "", "CRP 80 mg/L"]


def cases(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        case = {"chief_complaint": rng.choice(CHIEF), "temperature": rng.choice([0.0, 0.7, 1.0, 1.3]), "seed": i}
        if h := rng.choice(HISTORY):
            case["present_illness"] = h
        if lab := rng.choice(LABS):
            case["labs"] = lab
        case["max_tokens"] = rng.choice([160, 256, 512])
        out.append(case)
    return out


def _assess_all(srv, batch: list[dict], clients: int) -> list[dict]:
    def one(case: dict) -> dict:
        r = requests.post(srv.url + "/v1/clinical/assess", json=case, timeout=300)
        assert r.status_code == 200, r.text
        return r.json()

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(one, batch))


def test_assess_50_of_50_schema_valid_from_tiny_model_16_clients(serve) -> None:
    srv = serve(long=True, assess_attempts=1)  # one attempt: nothing to hide behind a regeneration
    schema = published_schema()
    got = _assess_all(srv, cases(50), clients=16)
    for a in got:
        jsonschema.validate(a, schema)
        assert a["meta"]["decoding"] == "constrained" and a["meta"]["outcome"] == "valid"
    assert len(got) == 50
    assert len({a["diagnosis"] for a in got}) > 5  # varied cases, varied answers


def test_assess_static_engine_constrained_too(serve) -> None:
    srv = serve(long=True, batching="static", assess_attempts=1)
    for a in _assess_all(srv, [{**c, "max_tokens": 160} for c in cases(4, seed=1)], clients=4):
        jsonschema.validate(a, published_schema())
        assert a["meta"]["decoding"] == "constrained"
