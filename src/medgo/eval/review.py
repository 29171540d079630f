"""Doctor review sheets: export a blinded CSV/XLSX (case, question, two answers in a seeded random order,
reference and rubric) plus a separate key file; import the filled sheet back into the same tables as the judge
(absolute 1-5 per dimension and pairwise win / tie / loss with bootstrap CIs)."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from medgo.data.jsonl import read_jsonl
from medgo.errors import DataError
from medgo.eval.judge import DIMENSIONS

INFO_COLS = ["review_id", "department", "qtype", "case", "question", "reference", "rubric", "answer_1", "answer_2"]
FILL_COLS = ["preference"] + [f"a{k}_{d}" for k in (1, 2) for d in DIMENSIONS] + ["comment"]
COLUMNS = INFO_COLS + FILL_COLS
PREFERENCE_HELP = "preference: 1 = answer_1 better, 2 = answer_2 better, tie; scores: integers 1-5"


def export_sheet(answers_path: Path, out: Path, seed: int = 0) -> tuple[Path, Path]:
    """From a ClinicalQA answers.jsonl (model and baseline answers) write the sheet (.csv or .xlsx, by suffix)
    and `<sheet>.key.json`, which says per review_id which system is answer_1. Reviewers get only the sheet."""
    rows = list(read_jsonl(answers_path))
    if not rows or "baseline" not in rows[0].get("answers", {}):
        raise DataError(f"{answers_path}: needs model and baseline answers", hint="run with --baseline first")
    rng = random.Random(seed)
    order = list(range(len(rows)))
    rng.shuffle(order)  # row order shuffled too: no department or set runs a reviewer could learn from
    sheet, key = [], {}
    for n, i in enumerate(order, 1):
        r = rows[i]
        flip = rng.random() < 0.5
        first, second = ("baseline", "model") if flip else ("model", "baseline")
        rid = f"R{n:04d}"
        key[rid] = {"id": r["id"], "answer_1": first, "answer_2": second, "department": r.get("department", ""),
                    "qtype": r.get("qtype", "")}
        sheet.append({"review_id": rid, "department": r.get("department", ""), "qtype": r.get("qtype", ""),
                      "case": r.get("case_text", ""), "question": r["question"], "reference": r.get("reference") or "",
                      "rubric": "；".join(_rubric_points(r)), "answer_1": r["answers"][first],
                      "answer_2": r["answers"][second], **{c: "" for c in FILL_COLS}})
    write_table(out, sheet)
    key_path = out.with_name(out.name + ".key.json")
    key_path.write_text(json.dumps({"seed": seed, "source": str(answers_path), "help": PREFERENCE_HELP, "key": key},
                                   ensure_ascii=False, indent=2), encoding="utf-8")
    return out, key_path


def _rubric_points(row: dict[str, Any]) -> list[str]:
    return [p["point"] for p in row.get("rubric") or []]


def write_table(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook
        from openpyxl.styles import Alignment

        wb = Workbook()
        ws = wb.active
        ws.title = "review"
        ws.append(COLUMNS)
        for r in rows:
            ws.append([r.get(c, "") for c in COLUMNS])
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        wb.create_sheet("help").append([PREFERENCE_HELP])
        wb.save(path)
    elif path.suffix.lower() == ".csv":
        # utf-8-sig: Excel opens a BOM-marked CSV as UTF-8 (Chinese text would be mojibake otherwise)
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            w = csv.DictWriter(f, fieldnames=COLUMNS)
            w.writeheader()
            w.writerows([{c: r.get(c, "") for c in COLUMNS} for r in rows])
    else:
        raise DataError(f"{path}: sheet must end in .csv or .xlsx")


def read_table(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise DataError(f"file not found: {path}")
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        ws = load_workbook(path, read_only=True, data_only=True)["review"]
        it = ws.iter_rows(values_only=True)
        head = [str(h) if h is not None else "" for h in next(it)]
        return [{h: "" if v is None else str(v) for h, v in zip(head, vals, strict=False)} for vals in it
                if any(v not in (None, "") for v in vals)]
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _score(v: str, where: str) -> int | None:
    s = v.strip()
    if not s:
        return None
    try:
        f = float(s)  # xlsx gives "4.0" for a number typed as 4
    except ValueError:
        raise DataError(f"{where}: score {v!r} is not a number 1-5") from None
    if f != int(f) or not 1 <= f <= 5:
        raise DataError(f"{where}: score {v!r} is not an integer 1-5")
    return int(f)


def _pref(v: str, where: str) -> str | None:
    s = v.strip().lower().removesuffix(".0")
    if not s:
        return None
    m = {"1": "1", "2": "2", "tie": "tie", "平局": "tie", "=": "tie", "0": "tie"}
    if s not in m:
        raise DataError(f"{where}: preference {v!r} must be 1, 2 or tie")
    return m[s]


def import_sheet(sheet: Path, key_path: Path | None = None, n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Filled sheet + key -> per-question rows (unblinded) and the judge-style tables: mean 1-5 scores per
    system and dimension, and pairwise model-vs-baseline win / tie / loss with bootstrap 95% CIs."""
    from medgo.eval.suites.clinicalqa import aggregate, pairwise_tables

    key_path = key_path or sheet.with_name(sheet.name + ".key.json")
    if not key_path.is_file():
        raise DataError(f"key file not found: {key_path}", hint="the .key.json written by review-export")
    key = json.loads(key_path.read_text(encoding="utf-8"))["key"]
    rows = []
    for n, rec in enumerate(read_table(sheet), 2):
        rid = (rec.get("review_id") or "").strip()
        where = f"{sheet}:{n} ({rid})"
        if rid not in key:
            raise DataError(f"{where}: review_id not in the key file", hint="was the sheet exported with this key?")
        k = key[rid]
        scores: dict[str, dict[str, Any]] = {"model": {}, "baseline": {}}
        for slot in (1, 2):
            for d in DIMENSIONS:
                scores[k[f"answer_{slot}"]][d] = _score(rec.get(f"a{slot}_{d}", ""), where)
        p = _pref(rec.get("preference", ""), where)
        outcome = None if p is None else "tie" if p == "tie" else "win" if k[f"answer_{p}"] == "model" else "loss"
        rows.append({"review_id": rid, "id": k["id"], "department": k.get("department", ""), "qtype": k.get("qtype", ""),
                     "scores": scores, "human": {"outcome": outcome}, "comment": rec.get("comment", "")})
    if not rows:
        raise DataError(f"{sheet}: no rows")
    return {"n": len(rows), "rows": rows,
            "overall": {s: aggregate(rows, s, DIMENSIONS)["all"] for s in ("model", "baseline")},
            "by_department": {s: aggregate(rows, s, DIMENSIONS, "department") for s in ("model", "baseline")},
            "pairwise": pairwise_tables(rows, n_boot, seed, key="human")}
