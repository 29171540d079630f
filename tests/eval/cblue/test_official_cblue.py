"""medgo's native CBLUE scores equal CBLUE's official metric functions on the same predictions, for every
task with gold in ../shared/data/cblue.

The official functions (CBLUEbenchmark/CBLUE `cblue/metrics/cblue_metrics.py`) are imported by path from
../shared/data/official-scorers/cblue/, never copied. They are sklearn calls over arrays, so the test feeds
them what each task's definition scores: accuracy (`qic_metric` / `qqr_metric` / `qtr_metric`) over labels;
macro P/R/F1 (`ctc_metric`, `sts_metric`) over labels; and for the extraction tasks, whose READMEs define
strict micro-F1 and for which CBLUE ships no file-level scorer, `ee_metric` (sklearn micro P/R/F1) over
each sample's items as a multi-label indicator matrix: CMeEE (start, end, type), CMeIE (subject, predicate,
object), CHIP-CDN (the "##"-separated terms), CHIP-CDEE (core name, tendency, characters, anatomy).
medgo scores the files through `medgo eval score`'s code path (suites/cblue.score_files). Predictions: the
gold, then perturbed (empty, partial, wrong, mixed) record by record."""

from __future__ import annotations

import copy
import importlib.util
import json
import random
from pathlib import Path

import numpy as np
import pytest

from medgo.eval.suites.cblue import score_files

N = 400  # records per task (the first N of the dev file)

FILES = {
    "KUAKE-QIC": "Sherlock-coder_CBLUE/data/KUAKE-QIC/KUAKE-QIC_dev.json",
    "KUAKE-QQR": "Sherlock-coder_CBLUE/data/KUAKE-QQR/KUAKE-QQR_dev.json",
    "KUAKE-QTR": "Sherlock-coder_CBLUE/data/KUAKE-QTR/KUAKE-QTR_dev.json",
    "CHIP-STS": "Sherlock-coder_CBLUE/data/CHIP-STS/CHIP-STS_dev.json",
    "CHIP-CTC": "Sherlock-coder_CBLUE/data/CHIP-CTC/CHIP-CTC_dev.json",
    "CHIP-CDN": "Sherlock-coder_CBLUE/data/CHIP-CDN/CHIP-CDN_dev.json",
    "CMeEE": "Sherlock-coder_CBLUE/data/CMeEE/CMeEE_dev.json",
    "CMeIE": "Sherlock-coder_CBLUE/data/CMeIE/CMeIE_dev.json",
    "CMeEE-V2": "honeyandme_knowledge/data/CMeEE-V2/CMeEE-V2_dev.json",
    "CMeIE-V2": "simmed2017_CCHDnet-PMVSD/CMeIE-V2/CMeIE-V2_dev.jsonl",
    "CHIP-CDEE": "zlnick_LLaMA-Factory/data/CHIP-CDEE/CHIP-CDEE_dev.json",
}
# the record field a prediction fills in, and its empty value
FIELD = {"KUAKE-QIC": "label", "KUAKE-QQR": "label", "KUAKE-QTR": "label", "CHIP-STS": "label", "CHIP-CTC": "label",
         "CHIP-CDN": "normalized_result", "CMeEE": "entities", "CMeEE-V2": "entities", "CMeIE": "spo_list",
         "CMeIE-V2": "spo_list", "CHIP-CDEE": "event"}
ACCURACY = {"KUAKE-QIC": "qic_metric", "KUAKE-QQR": "qqr_metric", "KUAKE-QTR": "qtr_metric"}
MACRO = {"CHIP-STS": "sts_metric", "CHIP-CTC": "ctc_metric"}


@pytest.fixture(scope="module")
def official(shared_data):
    path = shared_data / "official-scorers" / "cblue" / "cblue_metrics.py"
    if not path.is_file():
        pytest.skip(f"CBLUE's official metric functions not found: {path}")
    spec = importlib.util.spec_from_file_location("_official_cblue_metrics", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _read(path: Path) -> tuple[list[dict], bool]:
    """Records, and whether the file is one JSON object per line (CMeIE's dev .json is)."""
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text), False
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()], True


def _write(path: Path, rows: list[dict], lines: bool) -> Path:
    if lines:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    else:
        path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return path


def _items(task: str, rec: dict) -> set[tuple]:
    """The task definition's items of one record (independent of medgo's readers)."""
    v = rec.get(FIELD[task])
    if task in ("CMeEE", "CMeEE-V2"):
        return {(e["start_idx"], e["end_idx"], e["type"]) for e in v or []}
    if task in ("CMeIE", "CMeIE-V2"):
        return {(s["subject"], s["predicate"], s["object"]["@value"] if isinstance(s["object"], dict) else s["object"])
                for s in v or []}
    if task == "CHIP-CDN":
        return {t.strip() for t in (v or "").split("##") if t.strip()}
    return {(e["core_name"], e.get("tendency", ""), tuple(e.get("character") or []), tuple(e.get("anatomy_list") or []))
            for e in v or []}


def _empty(task: str):
    return "" if FIELD[task] in ("label", "normalized_result") else []


def _partial(task: str, v):
    if FIELD[task] == "label":
        return v
    if FIELD[task] == "normalized_result":
        return (v or "").split("##")[0]
    return list(v)[: len(v) // 2]


def _perturb(task: str, gold: list[dict], kind: str, seed: int) -> list[dict]:
    rng = random.Random(seed)
    key = FIELD[task]
    vals = [g.get(key) for g in gold]
    rotated = vals[1:] + vals[:1]
    out = copy.deepcopy(gold)
    for i, rec in enumerate(out):
        mode = kind if kind != "mixed" else rng.choice(["gold", "empty", "partial", "wrong"])
        if mode == "partial" and FIELD[task] == "label":
            mode = "wrong" if i % 2 else "gold"  # a label cannot be half right: every other one wrong
        if mode == "empty":
            rec[key] = _empty(task)
        elif mode == "partial":
            rec[key] = _partial(task, vals[i])
        elif mode == "wrong":
            rec[key] = copy.deepcopy(rotated[i])
    return out


def _official_score(om, task: str, gold: list[dict], pred: list[dict]) -> dict[str, float]:
    if task in ACCURACY:
        acc = getattr(om, ACCURACY[task])(np.array([p["label"] for p in pred]), np.array([g["label"] for g in gold]))
        return {"accuracy": float(acc)}
    if task in MACRO:
        p, r, f, _ = getattr(om, MACRO[task])([p["label"] for p in pred], [g["label"] for g in gold])
        return {"macro_precision": float(p), "macro_recall": float(r), "macro_f1": float(f)}
    from sklearn.preprocessing import MultiLabelBinarizer

    g_sets, p_sets = [_items(task, g) for g in gold], [_items(task, p) for p in pred]
    classes = sorted(set().union(*g_sets, *p_sets), key=repr)
    mlb = MultiLabelBinarizer(classes=classes, sparse_output=True)
    y_true, y_pred = mlb.fit_transform(g_sets), mlb.transform(p_sets)
    with _quiet():
        p, r, f, _ = om.ee_metric(y_pred, y_true)
    return {"precision": float(p), "recall": float(r), "f1": float(f)}


class _quiet:
    """sklearn warns (UndefinedMetricWarning) where there is nothing to score; the value is 0 either way."""

    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        return self._w.__exit__(*exc)


KINDS = ["gold", "empty", "partial", "wrong", "mixed"]


@pytest.mark.parametrize("task", list(FILES))
def test_official_cblue_parity(official, shared_data, tmp_path, task) -> None:
    src = shared_data / "cblue" / FILES[task]
    if not src.is_file():
        pytest.skip(f"{task}: gold file not in the shared data: {src}")
    gold, lines = _read(src)
    gold = gold[:N]
    gpath = _write(tmp_path / f"gold{src.suffix}", gold, lines)
    seen = {}
    for k, kind in enumerate(KINDS):
        pred = _perturb(task, gold, kind, seed=k)
        ref = _official_score(official, task, gold, pred)
        mine = score_files(task, gpath, _write(tmp_path / f"pred-{kind}{src.suffix}", pred, lines))
        assert mine["missing"] == 0
        for key, val in ref.items():
            assert mine[key] == pytest.approx(val, abs=1e-9), f"{task} {kind}: {key} official {val} medgo {mine[key]}"
        seen[kind] = mine["score"]
    assert seen["gold"] == pytest.approx(1.0)
    assert all(seen[k] < 0.99 for k in KINDS[1:]), seen  # every perturbation moves the score
