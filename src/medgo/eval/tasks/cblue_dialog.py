"""CBLUE dialogue tasks: MedDG (the doctor's next turn) and CHIP-MDCFNPC (status of each clinical finding
in a dialogue). Neither has files in the shared data: the project's samples stand in (written for medgo),
and PromptCBLUE's instruction versions run as PromptCBLUE-MedDG / PromptCBLUE-CHIP-MDCFNPC.

MedDG: dialogues are lists of turns {id: Patients | Doctor, Sentence, Symptom, Medicine, Test, Attribute,
Disease}; a record is one doctor turn with the turns before it (or an explicit {history, response} record).
Scores as in the MedDG paper: corpus BLEU-1 / BLEU-4 on characters and entity F1 (annotated entities of the
reference turn vs entity names of the split found in the generated text); the task score is
(BLEU-1 + BLEU-4) / 2 - the leaderboard's own combination is not published in the sources we read.

CHIP-MDCFNPC: {dialog_id, dialog_info: [{sender, text, ner: [{name, mention, range, attr}]}]}, attr in
阳性 / 阴性 / 其他 / 不标注; every annotated mention is one classification, scored by macro-F1 over the labels
(the CHIP 2021 task 1 metric), accuracy beside it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from medgo.errors import DataError
from medgo.eval.metrics import macro_prf, set_micro_prf
from medgo.eval.metrics.generation import corpus_bleu
from medgo.eval.metrics.rouge import rouge_f
from medgo.eval.tasks import parsers as P
from medgo.eval.tasks.base import Example, Task, Template
from medgo.eval.tasks.common import paths
from medgo.eval.tasks.io import read_records
from medgo.eval.tasks.registry import register

ENTITY_KEYS = ("Symptom", "Medicine", "Test", "Examination", "Attribute", "Disease")
SPEAKER = {"Patients": "患者", "Patient": "患者", "Doctor": "医生"}


def _turn(t: Any) -> str:
    if isinstance(t, dict):
        return f"{SPEAKER.get(str(t.get('id')), str(t.get('id', '')))}：{t.get('Sentence', '')}"
    return str(t)


def _entities(t: Any) -> list[str]:
    return sorted({e for k in ENTITY_KEYS for e in (t.get(k) or [])}) if isinstance(t, dict) else []


def read_meddg(path: Path) -> list[Example]:
    """Whole dialogues -> one record per doctor turn; {history, response} records are kept as they are."""
    raw = json_rows(path)
    out: list[Example] = []
    for n, item in enumerate(raw):
        if isinstance(item, dict):
            resp = item.get("response", "")
            out.append({"id": item.get("id", n), "history": [_turn(t) for t in item.get("history") or []],
                        "response": resp.get("Sentence", "") if isinstance(resp, dict) else str(resp or ""),
                        "entities": _entities(resp) if isinstance(resp, dict) else item.get("entities") or []})
            continue
        for i, t in enumerate(item or []):
            if isinstance(t, dict) and t.get("id") == "Doctor" and i > 0:
                out.append({"id": f"{n}-{i}", "history": [_turn(x) for x in item[:i]],
                            "response": t.get("Sentence", ""), "entities": _entities(t)})
    return out


def json_rows(path: Path) -> list[Any]:
    if not path.is_file():
        raise DataError(f"file not found: {path}")
    obj = json.loads(path.read_text(encoding="utf-8-sig"))
    if not isinstance(obj, list):
        raise DataError(f"{path}: expected a list of dialogues")
    return obj


def _vocab(examples: Sequence[Example]) -> set[str]:
    return {e for ex in examples for e in ex.get("entities") or []}


def _meddg_cblue(golds, preds, examples) -> dict[str, float]:
    vocab = _vocab(examples)
    texts = [p if isinstance(p, str) else p[0] if p else None for p in preds]
    g_ents = [set(g[1]) for g in golds]
    p_ents = [set(p[1]) if isinstance(p, tuple) else {e for e in vocab if e in (p or "")} for p in preds]
    ent = set_micro_prf(g_ents, p_ents)
    refs = [g[0] for g in golds]
    b1, b4 = corpus_bleu(texts, refs, 1), corpus_bleu(texts, refs, 4)
    return {"bleu1": b1, "bleu4": b4, "bleu_avg": (b1 + b4) / 2, "entity_precision": ent["precision"],
            "entity_recall": ent["recall"], "entity_f1": ent["f1"]}


def _meddg_pcb(golds, preds, _ex) -> dict[str, float]:
    return rouge_f([p if isinstance(p, str) else p[0] if p else "" for p in preds], [g[0] for g in golds])


MEDDG_T = "根据下面的问诊对话历史，给出医生的下一句回复。\n{history}\n医生："
register(Task(
    name="MedDG", kind="generation", paths={s: paths("MedDG") for s in ("train", "dev", "test")},
    templates=[Template("zero", MEDDG_T), Template("short", "{history}\n医生："), Template("few2", MEDDG_T, shots=2)],
    fields=lambda ex: {"history": "\n".join(ex["history"])},
    gold=lambda ex: (str(ex.get("response", "")), tuple(ex.get("entities") or ())),
    answer=lambda g, _ex: g[0], parse=lambda t, _ex: (t or "").strip().split("\n")[0].strip() or None,
    metrics={"cblue": _meddg_cblue, "promptcblue": _meddg_pcb}, headline={"cblue": "bleu_avg", "promptcblue": "rougeL"},
    to_record=lambda ex, p: {**ex, "output": p if isinstance(p, str) else p[0] if p else ""},
    submit_file="MedDG_test.json", max_new_tokens=64, reader=read_meddg,
))


# -- CHIP-MDCFNPC -----------------------------------------------------------------------------------
ATTRS = ("阳性", "阴性", "其他", "不标注")


def _mdc_gold(ex: Example) -> tuple[tuple[int, int, str, str], ...]:
    out = []
    for i, turn in enumerate(ex.get("dialog_info") or []):
        for e in turn.get("ner") or []:
            start = int((e.get("range") or [0])[0])
            out.append((i, start, str(e.get("mention", "")), str(e.get("attr") or e.get("type") or "不标注")))
    return tuple(out)


def _mdc_answer(gold, _ex) -> str:
    seen = dict.fromkeys(f"{m}：{a}" for _i, _s, m, a in gold)
    return "\n".join(seen) or "无"


def _mdc_parse(text: str, _ex: Example) -> dict[str, str] | None:
    out: dict[str, str] = {}
    for line in (text or "").splitlines():
        kv = line.strip().replace(":", "：").split("：", 1)
        if len(kv) == 2 and kv[0].strip() and kv[1].strip().strip("。") in ATTRS:
            out.setdefault(kv[0].strip(), kv[1].strip().strip("。"))
    if not out and not P.is_none_answer(text):
        return None
    return out


def _mdc_labels(gold, pred) -> list[str | None]:
    """The predicted label of every gold mention: by exact occurrence for a gold-format prediction, by
    mention text for a parsed answer; None where the answer says nothing about it."""
    if isinstance(pred, tuple):
        by = {(i, s, m): a for i, s, m, a in pred}
        return [by.get((i, s, m)) for i, s, m, _a in gold]
    return [(pred or {}).get(m) for _i, _s, m, _a in gold]


def _mdc_cblue(golds, preds, _ex) -> dict[str, float]:
    g = [a for x in golds for *_r, a in x]
    p = [lab for x, y in zip(golds, preds, strict=True) for lab in _mdc_labels(x, y)]
    m = macro_prf(g, p)
    acc = sum(a == b for a, b in zip(g, p, strict=True)) / len(g) if g else 0.0
    return {"macro_precision": m["precision"], "macro_recall": m["recall"], "macro_f1": m["f1"], "accuracy": acc}


def _mdc_pcb(golds, preds, _ex) -> dict[str, float]:
    # PromptCBLUE: per dialogue a set of (mention, status); an unreadable status becomes 不标注
    def items(p) -> set[tuple[str, str]]:
        if isinstance(p, tuple):
            return {(m, a) for _i, _s, m, a in p}
        return {(m, a if a in ATTRS else "不标注") for m, a in (p or {}).items()}
    return set_micro_prf([items(g) for g in golds], [items(p) for p in preds])


def _mdc_record(ex: Example, pred) -> Example:
    labels = dict(zip([(i, s, m) for i, s, m, _a in _mdc_gold(ex)], _mdc_labels(_mdc_gold(ex), pred), strict=True))
    info = [{**t, "ner": [{**e, "attr": labels.get((i, int((e.get("range") or [0])[0]), str(e.get("mention", ""))))
                           or "不标注"} for e in t.get("ner") or []]} for i, t in enumerate(ex.get("dialog_info") or [])]
    return {**ex, "dialog_info": info}


def _mdc_fields(ex: Example) -> dict[str, str]:
    turns = ex.get("dialog_info") or []
    mentions = dict.fromkeys(str(e.get("mention", "")) for t in turns for e in t.get("ner") or [])
    return {"dialogue": "\n".join(f"{t.get('sender', '')}：{t.get('text', '')}" for t in turns),
            "findings": "，".join(mentions) or "无", "options": "，".join(ATTRS)}


MDC_T = ("判断对话中每个临床发现的阴阳性（{options}）。每个一行，格式为“临床发现：类别”。\n对话：\n{dialogue}\n"
         "临床发现：{findings}\n答：")
register(Task(
    name="CHIP-MDCFNPC", kind="attr", paths={s: paths("CHIP-MDCFNPC") for s in ("train", "dev", "test")},
    templates=[Template("zero", MDC_T), Template("short", "{dialogue}\n{findings}的阴阳性（{options}）：\n答："),
               Template("few1", MDC_T, shots=1)],
    fields=_mdc_fields, gold=_mdc_gold, answer=_mdc_answer, parse=_mdc_parse,
    metrics={"cblue": _mdc_cblue, "promptcblue": _mdc_pcb}, headline={"cblue": "macro_f1", "promptcblue": "f1"},
    to_record=_mdc_record, submit_file="CHIP-MDCFNPC_test.jsonl", max_new_tokens=96, id_key="dialog_id",
    reader=read_records,
))
