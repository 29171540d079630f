"""Clinical decision support: a structured case in, an assessment validated by a published JSON schema out.
The model's text is parsed, repaired where the fix is mechanical (fences, trailing commas, strings where
lists belong, missing disclaimer), and otherwise regenerated; invalid output is never passed through."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

DISCLAIMER = "本结果由人工智能生成，仅供临床医生参考，不能替代医生的诊断与决策。"
FIELDS = {
    "chief_complaint": "主诉",
    "present_illness": "现病史",
    "past_history": "既往史",
    "physical_exam": "体格检查",
    "labs": "辅助检查",
}


class ClinicalCase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    chief_complaint: str = Field(..., min_length=1, max_length=2000, description="主诉")
    present_illness: str | None = Field(None, max_length=8000, description="现病史")
    past_history: str | None = Field(None, max_length=4000, description="既往史")
    physical_exam: str | None = Field(None, max_length=4000, description="体格检查")
    labs: str | None = Field(None, max_length=8000, description="辅助检查 / 实验室检查")


class AssessRequest(ClinicalCase):
    max_tokens: int = Field(512, ge=16, le=2048)
    temperature: float = Field(0.0, ge=0, le=2, description="first attempt; regenerations sample at >= 0.7")
    seed: int | None = None
    rag: bool | None = Field(None, description="retrieve passages for the case (server started with --index)")


class Differential(BaseModel):
    model_config = ConfigDict(extra="forbid")
    diagnosis: str = Field(..., min_length=1)
    reason: str = Field(..., min_length=1)


class NextSteps(BaseModel):
    model_config = ConfigDict(extra="forbid")
    examinations: list[str] = Field(default_factory=list)
    treatment: list[str] = Field(default_factory=list)


class Assessment(BaseModel):
    """What the model must produce (the published schema: clinical_assessment.schema.json)."""

    model_config = ConfigDict(extra="forbid", title="MedGoClinicalAssessment")
    diagnosis: str = Field(..., min_length=1, description="最可能的诊断")
    differential: list[Differential] = Field(..., description="鉴别诊断及理由")
    next_steps: NextSteps = Field(..., description="下一步检查与治疗方向")
    red_flags: list[str] = Field(..., description="需要立即处理的危险信号")
    disclaimer: str = Field(..., min_length=1)


class SourceRef(BaseModel):
    id: str
    title: str | None = None
    score: float


class AssessMeta(BaseModel):
    outcome: Literal["valid", "repaired", "regenerated"]
    decoding: Literal["constrained", "free"] = Field(
        "free",
        description="constrained: decoded under the schema (valid by construction; the disclaimer is the "
        "server's fixed text); free: the model's text parsed, repaired or regenerated",
    )
    attempts: int
    repairs: list[str]
    model: str
    prompt_tokens: int
    completion_tokens: int
    sources: list[SourceRef] | None = Field(None, description="passages the prompt was given (retrieval on)")


class AssessResponse(Assessment):
    model_config = ConfigDict(extra="forbid", title="MedGoClinicalAssessResponse")
    meta: AssessMeta


def published_schema() -> dict:
    return json.loads(
        resources.files("medgo.serve").joinpath("schemas/clinical_assessment.schema.json").read_text("utf-8")
    )


def schema_now() -> dict:
    """The schema as the code defines it; a test keeps the published file equal to this."""
    s = AssessResponse.model_json_schema()
    s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    s["$id"] = "medgo/clinical_assessment.schema.json"
    return s


_EXAMPLE = {
    "diagnosis": "……",
    "differential": [{"diagnosis": "……", "reason": "……"}],
    "next_steps": {"examinations": ["……"], "treatment": ["……"]},
    "red_flags": ["……"],
    "disclaimer": DISCLAIMER,
}


def _str(max_len: int, min_len: int = 0) -> dict:
    s: dict = {"type": "string", "maxLength": max_len}
    if min_len:
        s["minLength"] = min_len
    return s


def _list(item: dict, max_items: int) -> dict:
    return {"type": "array", "items": item, "maxItems": max_items}


def decoding_schema() -> dict:
    """What constrained decoding lets the model write: the published assessment without the disclaimer
    (the server adds its fixed text), every field present, lengths bounded so an answer always ends inside
    its token budget. Anything it admits, plus the disclaimer, validates against the published schema."""
    return {
        "type": "object",
        "properties": {
            "diagnosis": _str(40, 1),
            "differential": _list(
                {
                    "type": "object",
                    "properties": {"diagnosis": _str(30, 1), "reason": _str(60, 1)},
                    "required": ["diagnosis", "reason"],
                    "additionalProperties": False,
                },
                3,
            ),
            "next_steps": {
                "type": "object",
                "properties": {"examinations": _list(_str(30), 4), "treatment": _list(_str(30), 4)},
                "required": ["examinations", "treatment"],
                "additionalProperties": False,
            },
            "red_flags": _list(_str(30), 4),
        },
        "required": ["diagnosis", "differential", "next_steps", "red_flags"],
        "additionalProperties": False,
    }


DECODING_CONSTRAINT = {"type": "json_schema", "schema": decoding_schema()}


def parse_constrained(text: str) -> Assessment | None:
    """Output decoded under `decoding_schema()` → the assessment (None if it was cut off by the budget)."""
    try:
        obj = json.loads(text)
        return Assessment.model_validate({**obj, "disclaimer": DISCLAIMER})
    except (json.JSONDecodeError, ValidationError, TypeError):
        return None


def build_messages(case: ClinicalCase) -> list[dict[str, str]]:
    system = (
        "你是一名严谨的临床医生助手。根据病例给出诊断、鉴别诊断及理由、下一步检查与治疗方向、危险信号。"
        "只输出一个JSON对象，不要输出其他文字，格式如下：\n" + json.dumps(_EXAMPLE, ensure_ascii=False)
    )
    lines = [f"{label}：{getattr(case, name)}" for name, label in FIELDS.items() if getattr(case, name)]
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n".join(lines)}]


# -- parsing and repair ------------------------------------------------------------------------------

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_KEY_ALIASES = {
    "诊断": "diagnosis",
    "鉴别诊断": "differential",
    "下一步": "next_steps",
    "危险信号": "red_flags",
    "免责声明": "disclaimer",
    "检查": "examinations",
    "治疗": "treatment",
    "理由": "reason",
}


def _json_object(text: str, repairs: list[str]) -> dict | None:
    m = _FENCE.search(text)
    if m:
        text = m.group(1)
        repairs.append("removed code fence")
    start = text.find("{")
    if start == -1:
        return None
    if start > 0 and text[:start].strip():
        repairs.append("dropped text before the JSON object")
    body = text[start:]
    for attempt in range(2):
        try:
            obj, end = json.JSONDecoder().raw_decode(body)
            if body[end:].strip():
                repairs.append("dropped text after the JSON object")
            return obj if isinstance(obj, dict) else None
        except json.JSONDecodeError:
            if attempt == 0:
                fixed = _TRAILING_COMMA.sub(r"\1", body.replace("“", '"').replace("”", '"'))
                if fixed == body:
                    return None
                body = fixed
                repairs.append("fixed JSON syntax (quotes, trailing commas)")
    return None


def _as_list(v: object) -> list:
    if v is None:
        return []
    if isinstance(v, str):
        return [p.strip() for p in re.split(r"[；;、\n]", v) if p.strip()]
    return v if isinstance(v, list) else [v]


def _normalise(obj: dict, repairs: list[str]) -> dict:
    out = {}
    for k, v in obj.items():
        key = _KEY_ALIASES.get(k, k)
        if key != k:
            repairs.append(f"renamed key {k!r}")
        out[key] = v
    if isinstance(out.get("diagnosis"), list) and out["diagnosis"]:
        out["diagnosis"] = "；".join(str(x) for x in out["diagnosis"])
        repairs.append("joined diagnosis list")
    diff = out.get("differential")
    if diff is not None and not (isinstance(diff, list) and all(isinstance(d, dict) for d in diff)):
        out["differential"] = [
            d if isinstance(d, dict) else {"diagnosis": str(d), "reason": "未说明"} for d in _as_list(diff)
        ]
        repairs.append("turned differential into objects")
    for d in out.get("differential") or []:
        if isinstance(d, dict):
            for k in list(d):
                if k in _KEY_ALIASES:
                    d[_KEY_ALIASES[k]] = d.pop(k)
    ns = out.get("next_steps")
    if isinstance(ns, (list, str)):
        out["next_steps"] = {"examinations": _as_list(ns), "treatment": []}
        repairs.append("turned next_steps into examinations/treatment")
    elif isinstance(ns, dict):
        out["next_steps"] = {_KEY_ALIASES.get(k, k): _as_list(v) for k, v in ns.items()}
    if "red_flags" in out and not isinstance(out["red_flags"], list):
        out["red_flags"] = _as_list(out["red_flags"])
        repairs.append("turned red_flags into a list")
    if "red_flags" not in out and "diagnosis" in out:
        out["red_flags"] = []
        repairs.append("added empty red_flags")
    if not out.get("disclaimer"):
        out["disclaimer"] = DISCLAIMER
        repairs.append("added disclaimer")
    return out


def parse_assessment(text: str) -> tuple[Assessment | None, list[str]]:
    """(assessment, repairs made) or (None, why it failed)."""
    repairs: list[str] = []
    obj = _json_object(text, repairs)
    if obj is None:
        return None, ["no JSON object in the output"]
    try:
        return Assessment.model_validate(obj), repairs
    except ValidationError:
        pass
    try:
        return Assessment.model_validate(_normalise(obj, repairs)), repairs
    except ValidationError as e:
        return None, [f"schema: {err['loc']}: {err['msg']}" for err in e.errors()[:3]]
