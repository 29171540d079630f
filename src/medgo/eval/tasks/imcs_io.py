"""IMCS-V2 files: one JSON object of dialogues keyed by example id, each with `dialogue` (sentences with
`sentence_id`, `speaker`, `sentence`, `BIO_label`, `dialogue_act`, `local_implicit_info`) and `report`
(the two doctors' reports, six sections each). The harness works on records, so the file is flattened:
one record per sentence (NER, DAC, SR) or per dialogue (MRG); writers fold predictions back into the
nested submission objects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from medgo.errors import DataError

Example = dict[str, Any]
SECTIONS = ["主诉", "现病史", "辅助检查", "既往史", "诊断", "建议"]


def _dialogues(path: Path) -> dict[str, dict]:
    if not path.is_file():
        raise DataError(f"file not found: {path}")
    try:
        obj = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: bad JSON: {e.msg} at line {e.lineno}") from None
    if not isinstance(obj, dict) or not all(isinstance(v, dict) for v in obj.values()):
        raise DataError(f"{path}: expected an object of dialogues keyed by example id (IMCS-V2 layout)")
    return obj


def read_sentences(path: Path) -> list[Example]:
    """One record per sentence; `history` holds the two sentences before it (speaker：text)."""
    rows: list[Example] = []
    for eid, dlg in _dialogues(path).items():
        turns = dlg.get("dialogue") or []
        for i, s in enumerate(turns):
            sid = str(s.get("sentence_id", i + 1))
            hist = [f"{t.get('speaker', '')}：{t.get('sentence', '')}" for t in turns[max(0, i - 2) : i]]
            rows.append({"id": f"{eid}-{sid}", "eid": str(eid), "sid": sid, "speaker": s.get("speaker", ""),
                         "sentence": s.get("sentence", ""), "history": "\n".join(hist),
                         "BIO_label": s.get("BIO_label"), "dialogue_act": s.get("dialogue_act"),
                         "local_implicit_info": s.get("local_implicit_info")})
    return rows


def render_report(rep: Any) -> str:
    """A report as text: a dict becomes 'section：text' lines in the official section order."""
    if isinstance(rep, str):
        return rep.strip()
    if isinstance(rep, dict):
        return "\n".join(f"{k}：{str(rep.get(k) or '').strip()}" for k in SECTIONS if k in rep)
    return ""


def read_dialogues(path: Path) -> list[Example]:
    """One record per dialogue: the dialogue as 'speaker：sentence' lines and its reference reports."""
    rows = []
    for eid, dlg in _dialogues(path).items():
        text = "\n".join(f"{t.get('speaker', '')}：{t.get('sentence', '')}" for t in dlg.get("dialogue") or [])
        reps = dlg.get("report") or []
        rows.append({"id": str(eid), "dialogue": text, "report": reps if isinstance(reps, list) else [reps]})
    return rows


def nest(recs: list[Example], field: str) -> dict[str, dict[str, Any]]:
    """Sentence records -> {example_id: {sentence_id: record[field]}} (the NER / DAC / SR submissions)."""
    out: dict[str, dict[str, Any]] = {}
    for r in recs:
        out.setdefault(r["eid"], {})[r["sid"]] = r[field]
    return out
