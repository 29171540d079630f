"""Scoring de-identification on annotated notes (issue #16).

A note is {id, text, phi: [{start, end, type, text}], keep: [{start, end, text}]}; the generator's format
({text, spans: [{start, end, type}]} with KEEP spans) is converted by `from_synth`.

- leak rate, per PHI type: the share of notes holding that type in which some gold PHI string of that type
  survives de-identification: a gold span not fully covered by predicted spans, or the gold string still
  present anywhere in the output text (strings of digits/letters shorter than 4 characters, e.g. a bed
  number, are judged by their span only; digit strings are matched on digit boundaries).
- span recall, per gold type: gold spans whose every character lies inside some predicted span.
- span precision, per predicted type: predicted spans that overlap a gold span (HOSPITAL gold spans are
  neutral: they count for precision, but HOSPITAL is not a leak target unless the set says so).
- keep: planted clinical terms whose characters no predicted span touches and which still occur in the
  output as often as in the input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

NEUTRAL = {"HOSPITAL"}


def load_notes(path: str | Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def from_synth(notes: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for n in notes:
        text = n["text"]
        phi = [{**s, "text": text[s["start"]:s["end"]]} for s in n["spans"] if s["type"] != "KEEP"]
        keep = [{**s, "text": text[s["start"]:s["end"]]} for s in n["spans"] if s["type"] == "KEEP"]
        out.append({"id": n.get("id"), "text": text, "phi": phi, "keep": keep})
    return out


def _survives(value: str, output: str) -> bool:
    if re.fullmatch(r"[0-9A-Za-z\-]+", value) and len(value) < 4:
        return False  # too short to search for; judged by span coverage
    if value.isdigit():
        return re.search(rf"(?<![0-9]){re.escape(value)}(?![0-9])", output) is not None
    return value in output


def score_notes(
    notes: list[dict[str, Any]],
    find: Callable[[str], list[Any]] | None = None,
    deid: Callable[[str], str] | None = None,
    sample_misses: int = 60,
) -> dict[str, Any]:
    """`find(text)` -> spans with .start/.end/.type; `deid(text)` -> de-identified text."""
    if find is None or deid is None:
        from medgo.data.deid import deidentify, find_phi

        find = find or find_phi
        deid = deid or deidentify
    docs: dict[str, int] = {}
    leaked: dict[str, int] = {}
    gold_n: dict[str, int] = {}
    gold_hit: dict[str, int] = {}
    pred_n: dict[str, int] = {}
    pred_ok: dict[str, int] = {}
    keep_n = keep_ok = 0
    misses: list[dict[str, str]] = []
    eaten: list[dict[str, str]] = []
    for note in notes:
        text = note["text"]
        pred = find(text)
        out = deid(text)
        cov = bytearray(len(text))
        for p in pred:
            cov[p.start:p.end] = b"\x01" * (p.end - p.start)
        gold = note["phi"]
        for p in pred:
            pred_n[p.type] = pred_n.get(p.type, 0) + 1
            if any(g["start"] < p.end and p.start < g["end"] for g in gold):
                pred_ok[p.type] = pred_ok.get(p.type, 0) + 1
        types_here: dict[str, bool] = {}
        for g in gold:
            t = g["type"]
            gold_n[t] = gold_n.get(t, 0) + 1
            covered = all(cov[g["start"]:g["end"]])
            gold_hit[t] = gold_hit.get(t, 0) + covered
            leak = (not covered) or _survives(g["text"], out)
            types_here[t] = types_here.get(t, False) or leak
            if leak and len(misses) < sample_misses:
                s, e = max(0, g["start"] - 12), g["end"] + 12
                misses.append({"id": str(note.get("id")), "type": t, "text": g["text"],
                               "context": text[s:e].replace("\n", "⏎"), "span_covered": bool(covered)})
        for t, leak in types_here.items():
            docs[t] = docs.get(t, 0) + 1
            leaked[t] = leaked.get(t, 0) + leak
        for k in note.get("keep", []):
            keep_n += 1
            ok = not any(cov[k["start"]:k["end"]]) and out.count(k["text"]) >= text.count(k["text"])
            keep_ok += ok
            if not ok and len(eaten) < sample_misses:
                eaten.append({"id": str(note.get("id")), "text": k["text"],
                              "context": text[max(0, k["start"] - 12):k["end"] + 12].replace("\n", "⏎")})
    per_type = {}
    for t in sorted(gold_n):
        per_type[t] = {"docs": docs.get(t, 0), "docs_leaked": leaked.get(t, 0),
                       "leak_rate": round(leaked.get(t, 0) / max(1, docs.get(t, 0)), 4),
                       "gold_spans": gold_n[t], "recall": round(gold_hit.get(t, 0) / gold_n[t], 4)}
        if t in NEUTRAL:
            per_type[t]["neutral"] = True
    precision = {t: {"predicted": pred_n[t], "precision": round(pred_ok.get(t, 0) / pred_n[t], 4)} for t in sorted(pred_n)}
    all_pred = sum(pred_n.values())
    return {"notes": len(notes), "per_type": per_type, "precision_by_predicted_type": precision,
            "precision_all": round(sum(pred_ok.values()) / max(1, all_pred), 4),
            "keep_spans": keep_n, "keep_rate": round(keep_ok / max(1, keep_n), 4),
            "leak_sample": misses, "eaten_sample": eaten}


def ccks_content_kept(root: str | Path, find: Callable[[str], list[Any]] | None = None,
                      sample: int = 0) -> dict[str, Any]:
    """On the CCKS2017 hospital records (`data_origin/*/*.txtoriginal.txt` with entity files beside them): the
    share of annotated clinical entities (symptoms, diseases, exams, treatments, body parts) that no PHI span
    touches, and the PHI spans found there per type (with a sample of the names found, to audit)."""
    import glob

    if find is None:
        from medgo.data.deid import find_phi as find
    ents = eaten = 0
    found: dict[str, int] = {}
    names: list[str] = []
    eaten_sample: list[str] = []
    files = sorted(glob.glob(str(Path(root) / "*" / "*.txtoriginal.txt")))
    for f in files:
        text = Path(f).read_text(encoding="utf-8")
        cov = bytearray(len(text))
        for p in find(text):
            cov[p.start:p.end] = b"\x01" * (p.end - p.start)
            found[p.type] = found.get(p.type, 0) + 1
            if p.type == "NAME" and len(names) < sample:
                names.append(text[max(0, p.start - 8):p.end + 8])
        for line in Path(f.replace(".txtoriginal.txt", ".txt")).read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) >= 4:
                s, e = int(parts[1]), int(parts[2]) + 1
                ents += 1
                if any(cov[s:e]):
                    eaten += 1
                    if len(eaten_sample) < sample:
                        eaten_sample.append(f"{parts[0]} <- {text[max(0, s - 8):e + 8]}")
    out: dict[str, Any] = {"records": len(files), "clinical_entities": ents, "entities_touched": eaten,
                           "content_kept_rate": round(1 - eaten / max(1, ents), 5), "phi_spans_found": found}
    if sample:
        out["name_sample"] = names
        out["eaten_sample"] = eaten_sample
    return out
