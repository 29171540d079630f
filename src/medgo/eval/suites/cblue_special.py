"""Native scorers for CBLUE tasks whose files are not record lists: KUAKE-IR (TSV rankings) and the IMCS-V2
dialogue tasks (dicts keyed by dialogue id, then sentence id), following the official scorers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from medgo.errors import DataError
from medgo.eval.metrics import accuracy, bio_micro_prf, macro_prf, mean_mrr_at_k, set_micro_prf


def _tsv(path: Path) -> list[list[str]]:
    if not path.is_file():
        raise DataError(f"file not found: {path}")
    return [ln.rstrip("\n").split("\t") for ln in path.read_text(encoding="utf-8-sig").splitlines() if ln.strip()]


def score_kuake_ir(gold: Path, pred: Path) -> dict[str, Any]:
    """gold: `qid<TAB>pid` per relevant pair; pred: `qid<TAB>pid1,pid2,...,pid10` (the submission file)."""
    rel: dict[str, set[str]] = {}
    for cols in _tsv(gold):
        if len(cols) >= 2:
            rel.setdefault(cols[0].strip(), set()).add(cols[1].strip())
    ranked = {c[0].strip(): [x.strip() for x in c[1].split(",")] for c in _tsv(pred) if len(c) >= 2}
    m = mean_mrr_at_k(ranked, rel, 10)
    return {"task": "KUAKE-IR", "convention": "cblue", **m, "metric": "mrr@10", "score": m["mrr@10"],
            "missing": sum(q not in ranked for q in rel)}


def _json(path: Path) -> Any:
    if not path.is_file():
        raise DataError(f"file not found: {path}")
    return json.loads(path.read_text(encoding="utf-8-sig"))


def _sentences(gold: dict, pred: dict, field: str):
    for eid, dlg in gold.items():
        for sent in dlg["dialogue"]:
            sid = str(sent["sentence_id"])
            yield (eid, sid), sent.get(field), (pred.get(eid) or {}).get(sid)


def score_imcs_ner(gold: Path, pred: Path) -> dict[str, Any]:
    """seqeval entity F1 over every sentence's BIO tags (official task1 scorer)."""
    rows = list(_sentences(_json(gold), _json(pred), "BIO_label"))
    m = bio_micro_prf([g.split() for _, g, _ in rows], [p.split() if isinstance(p, str) else None for _, _, p in rows])
    return {"task": "IMCS-V2-NER", "convention": "cblue", **m, "metric": "f1", "score": m["f1"],
            "missing": sum(p is None for _, _, p in rows)}


def score_imcs_dac(gold: Path, pred: Path) -> dict[str, Any]:
    """Dialogue acts per sentence; the CBLUE score is accuracy (official task4 scorer), macro-F1 beside it."""
    rows = list(_sentences(_json(gold), _json(pred), "dialogue_act"))
    g, p = [r[1] for r in rows], [r[2] for r in rows]
    m = macro_prf(g, p)
    return {"task": "IMCS-V2-DAC", "convention": "cblue", **accuracy(g, p), "macro_f1": m["f1"],
            "metric": "accuracy", "score": accuracy(g, p)["accuracy"], "missing": sum(x is None for x in p)}


def score_imcs_sr(gold: Path, pred: Path) -> dict[str, Any]:
    """Micro-F1 over (symptom, status) labels per sentence, status in {0, 1, 2} (official task2 scorer at
    utterance level; without its `mappings.json` every symptom name is kept, not only normalised ones)."""
    rows = list(_sentences(_json(gold), _json(pred), "local_implicit_info"))
    g = [{(k, str(v)) for k, v in (x or {}).items()} for _, x, _ in rows]
    p = [{(k, str(v)) for k, v in x.items()} if isinstance(x, dict) else None for _, _, x in rows]
    m = set_micro_prf(g, p)
    return {"task": "IMCS-V2-SR", "convention": "cblue", **m, "metric": "f1", "score": m["f1"],
            "missing": sum(x is None for x in p)}


def score_imcs_mrg(gold: Path, pred: Path) -> dict[str, Any]:
    """gold: the IMCS-V2 file (each dialogue's `report` list); pred: {example_id: report text} (official task3
    scorer: ROUGE against every reference report of a dialogue, mean over dialogues; ROUGE-L is the score)."""
    from medgo.eval.metrics.generation import multi_ref_rouge
    from medgo.eval.tasks.imcs_io import render_report

    g, p = _json(gold), _json(pred)
    refs = [[render_report(r) for r in (d.get("report") or [])] for d in g.values()]
    preds = [p.get(eid) if isinstance(p.get(eid), str) else render_report(p.get(eid)) or None for eid in g]
    m = multi_ref_rouge(preds, refs)
    return {"task": "IMCS-V2-MRG", "convention": "cblue", **m, "metric": "rougeL", "score": m["rougeL"],
            "missing": sum(x is None for x in preds)}


SPECIAL: dict[str, Callable[[Path, Path], dict[str, Any]]] = {
    "KUAKE-IR": score_kuake_ir,
    "IMCS-V2-NER": score_imcs_ner,
    "IMCS-V2-DAC": score_imcs_dac,
    "IMCS-V2-SR": score_imcs_sr,
    "IMCS-V2-MRG": score_imcs_mrg,
}
