"""Converters from the shared sets (a folder laid out like ../shared/data) to ClinicalQA cases.

Only human-written text becomes a reference: CMD doctor answers (`raw_anwser`) and the PULSE-EVAL sets' own
`reference_answer`. Model outputs in the DISC dialogues, HuatuoGPT(-II) files and PULSE elo files are never read
as answers; those sets give questions only (reference null: judge / pairwise / human review only)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from medgo.errors import DataError
from medgo.eval.clinicalqa import SAMPLE_PATH, Case, load_cases, normalise, validate_case

DISC = "corpora/DISC-MedLLM/eval/samples"
HUATUO100 = "corpora/HuatuoGPT-II/evaluation/data/huatuo100_inst/GPT4.json"  # query + label; model_output unused
PULSE = "corpora/PULSE-EVAL/data"
PULSE_WITH_REFS = ("CheckupQA", "EMRHG", "MedTreat", "MedTriage", "MedQA_Mainland")  # Chinese sets that carry refs
HUATUO_QTYPE = {"病情诊断": "diagnosis", "治疗方案": "treatment", "就医建议": "examination", "注意事项": "education",
                "后果表述": "prognosis", "指标解读": "examination", "功效作用": "medication"}
CMB_CLIN_QUESTION = "请根据以上病例，给出最可能的诊断、诊断依据、需要进一步完成的检查及治疗原则。"


def _root(data_dir: Path) -> Path:
    # accept the data root (…/data) or its corpora/ folder
    return data_dir.parent if data_dir.name == "corpora" else data_dir


def _load_json(path: Path) -> Any:
    if not path.is_file():
        raise DataError(f"file not found: {path}", hint="--data-dir must point at a folder laid out like shared/data")
    return json.loads(path.read_text(encoding="utf-8-sig"))


def _case(**kw: str) -> dict[str, str]:
    keys = ("chief_complaint", "present_illness", "past_history", "physical_exam", "labs_imaging")
    return {k: kw.get(k, "").strip() for k in keys}


def split_cmb_case(text: str) -> dict[str, str]:
    """CMB-Clin case text ('现病史 (1)病史摘要 … (2)主诉 … 体格检查 … 辅助检查 …') -> case fields."""
    heads = {"现病史": "present_illness", "体格检查": "physical_exam", "辅助检查": "labs_imaging"}
    parts: dict[str, list[str]] = {}
    cur = "present_illness"
    for ln in text.splitlines():
        s = ln.strip()
        if s in heads:
            cur = heads[s]
            continue
        parts.setdefault(cur, []).append(s)
    pi = "\n".join(parts.get("present_illness", []))
    cc = ""
    m = re.search(r"[（(]\d[)）]\s*主诉\s*\n?(.*?)(?=\n\s*[（(]\d[)）]|\Z)", pi, flags=re.S)
    if m:
        cc = m.group(1).strip()
        pi = (pi[: m.start()] + pi[m.end():]).strip()
    pi = re.sub(r"^(?:[（(]\d[)）])?\s*病史摘要\s*", "", pi).strip()
    return _case(chief_complaint=cc, present_illness=pi, physical_exam="\n".join(parts.get("physical_exam", [])),
                 labs_imaging="\n".join(parts.get("labs_imaging", [])))


def cmb_clin(data_dir: Path) -> list[Case]:
    rows = _load_json(_root(data_dir) / DISC / "CMB-cases.json")
    # `first_question` is DISC's simulated patient turn: not used; one fixed clinician question per case
    return [{"id": f"cmb-clin-{r['id']}", "department": "", "qtype": "diagnosis", "case": split_cmb_case(r["case"]),
             "question": CMB_CLIN_QUESTION, "reference": None, "source": "DISC-MedLLM/CMB-Clin"} for r in rows]


def cmd(data_dir: Path) -> list[Case]:
    rows = _load_json(_root(data_dir) / DISC / "cmd_samples.json")
    return [{"id": f"cmd-{r['id']}", "department": r.get("department", ""), "qtype": "other", "case": _case(),
             "question": r["question"].strip(), "reference": (r.get("raw_anwser") or "").strip() or None,
             "reference_origin": "doctor", "source": "DISC-MedLLM/cmd"} for r in rows]


def huatuo100(data_dir: Path) -> list[Case]:
    rows = _load_json(_root(data_dir) / HUATUO100)
    return [{"id": f"huatuo100-{r['id']}", "department": "", "qtype": HUATUO_QTYPE.get(r.get("label", ""), "other"),
             "case": _case(), "question": r["query"].strip(), "reference": None, "label": r.get("label", ""),
             "source": "HuatuoGPT-II/huatuo100_inst"} for r in rows]


def pulse(name: str) -> Callable[[Path], list[Case]]:
    def conv(data_dir: Path) -> list[Case]:
        path = _root(data_dir) / PULSE / f"{name}.jsonl"
        if not path.is_file():
            raise DataError(f"file not found: {path}")
        out = []
        for i, ln in enumerate(path.read_text(encoding="utf-8").splitlines()):
            if ln.strip():
                r = json.loads(ln)
                out.append({"id": f"pulse-{name}-{i}", "department": "", "qtype": str(r.get("type", name)),
                            "case": _case(), "question": r["question"].strip(),
                            "reference": (r.get("reference_answer") or "").strip() or None,
                            "reference_origin": "dataset", "source": f"PULSE-EVAL/{name}"})
        return out
    return conv


CONVERTERS: dict[str, Callable[[Path], list[Case]]] = {
    "cmb-clin": cmb_clin, "cmd": cmd, "huatuo100": huatuo100,
    **{f"pulse-{n.lower()}": pulse(n) for n in PULSE_WITH_REFS},
}


def set_names() -> list[str]:
    return ["sample", *CONVERTERS]


def load_set(name: str, data_dir: Path | None) -> tuple[list[Case], str]:
    """(cases, source) for a set name ('sample', a converter name) or a path to a ClinicalQA JSONL file."""
    key = name.strip().lower()
    if key == "sample":
        return load_cases(SAMPLE_PATH), str(SAMPLE_PATH)
    if key in CONVERTERS:
        if data_dir is None:
            raise DataError(f"set {name!r} needs the shared data", hint="pass --data-dir or set MEDGO_DATA")
        rows = CONVERTERS[key](data_dir)
        bad = [(r["id"], why) for r in rows if (why := validate_case(r))]
        if bad:
            raise DataError(f"converter {name}: case {bad[0][0]} is invalid: {bad[0][1]}")
        return [normalise(r) for r in rows], f"{name} from {data_dir}"
    p = Path(name)
    if p.suffix == ".jsonl" and p.is_file():
        return load_cases(p), str(p)
    raise DataError(f"unknown ClinicalQA set {name!r}", hint=f"one of {set_names()} or a .jsonl path")
