"""IMCS-V2 (CBLUE 2.0 medical dialogues): NER (BIO tags per sentence), DAC (dialogue act per sentence),
SR (symptom status per sentence) and MRG (a report per dialogue). Native metrics follow the official
imcs21-cblue scorers: seqeval entity F1 (task 1), micro-F1 over (normalised symptom, status) labels at
utterance level (task 2), sumeval ROUGE against both reference reports, mean over dialogues (task 3),
accuracy of acts (task 4). No IMCS-V2 file is in the shared data: the project's samples/IMCS-V2 files (written
for medgo) stand in, and PromptCBLUE's instruction versions run as PromptCBLUE-IMCS-V2-* tasks."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from medgo.eval.metrics import bio_chunks, set_micro_prf
from medgo.eval.metrics.generation import multi_ref_rouge
from medgo.eval.tasks import parsers as P
from medgo.eval.tasks.base import Example, Task, Template
from medgo.eval.tasks.common import classification_task, options
from medgo.eval.tasks.imcs_io import SECTIONS, nest, read_dialogues, read_sentences, render_report
from medgo.eval.tasks.registry import register

PATHS = {s: ["IMCS-V2/IMCS-V2_{split}.json", "cblue/IMCS-V2/IMCS-V2_{split}.json"] for s in ("train", "dev", "test")}
NER_TYPES = {"Symptom": "症状", "Drug": "药物", "Drug_Category": "药物类别", "Medical_Examination": "医学检查检验",
             "Operation": "医疗操作"}
NER_NAMES = {**{v: k for k, v in NER_TYPES.items()}, **{k: k for k in NER_TYPES}, "具体的药物名称": "Drug"}
ACTS = {"Request-Symptom": "提问-症状", "Inform-Symptom": "告知-症状", "Request-Etiology": "提问-病因",
        "Inform-Etiology": "告知-病因", "Request-Basic_Information": "提问-基本信息",
        "Inform-Basic_Information": "告知-基本信息", "Request-Existing_Examination_and_Treatment": "提问-已有检查和治疗",
        "Inform-Existing_Examination_and_Treatment": "告知-已有检查和治疗", "Request-Drug_Recommendation": "提问-用药建议",
        "Inform-Drug_Recommendation": "告知-用药建议", "Request-Medical_Advice": "提问-就医建议",
        "Inform-Medical_Advice": "告知-就医建议", "Request-Precautions": "提问-注意事项",
        "Inform-Precautions": "告知-注意事项", "Diagnose": "诊断", "Other": "其他"}
STATUS = {"0": "阴性", "1": "阳性", "2": "不确定"}  # 0 = does not have it, 1 = has it, 2 = cannot tell
STATUS_NAMES = {**{v: k for k, v in STATUS.items()}, **{k: k for k in STATUS}, "没有患有该症状": "0",
                "患有该症状": "1", "无法根据上下文确定病人是否患有该症状": "2"}


# -- NER --------------------------------------------------------------------------------------------
def _ner_gold(ex: Example) -> list[tuple[int, int, str]]:
    tags = str(ex.get("BIO_label") or "").split()
    return sorted((s, e, t) for t, s, e in bio_chunks(tags))


def _ner_answer(gold, ex: Example) -> str:
    by: dict[str, list[str]] = {}
    for s, e, t in gold:
        m = ex["sentence"][s : e + 1]
        if m not in by.setdefault(t, []):
            by[t].append(m)
    return "\n".join(f"{NER_TYPES.get(t, t)}：{'，'.join(ms)}" for t, ms in by.items()) or "无"


def _ner_parse(text: str, ex: Example):
    rows = P.typed_lines(text, NER_NAMES)
    if rows is None:
        return None
    return sorted({(s, e, t) for t, ms in rows for m in ms for s, e in P.locate_all(ex["sentence"], m)})


def to_bio(n: int, chunks) -> str:
    """Chunks -> one BIO tag per character; overlapping chunks: the longer one wins, then the earlier one."""
    tags = ["O"] * n
    for s, e, t in sorted(chunks or (), key=lambda c: (c[0] - c[1], c[0])):
        if 0 <= s <= e < n and all(x == "O" for x in tags[s : e + 1]):
            tags[s : e + 1] = [f"B-{t}"] + [f"I-{t}"] * (e - s)
    return " ".join(tags)


def _ner_pcb(golds, preds, examples):  # PromptCBLUE: (mention, type name) per sample
    def key(items, ex):
        return {(ex["sentence"][s : e + 1], NER_TYPES.get(t, t)) for s, e, t in items or ()}
    return set_micro_prf([key(g, x) for g, x in zip(golds, examples, strict=True)],
                         [key(p, x) for p, x in zip(preds, examples, strict=True)])


NER_T = "找出下面问诊对话语句中的医学实体。实体类型：{types}。\n每类一行，格式为“类型：实体1，实体2”；没有实体时回答“无”。\n{speaker}：{sentence}\n答："
register(Task(
    name="IMCS-V2-NER", kind="ner", paths=PATHS,
    templates=[Template("zero", NER_T), Template("short", "抽取{types}实体：\n{sentence}\n答："),
               Template("few3", NER_T, shots=3)],
    fields=lambda ex: {"sentence": ex["sentence"], "speaker": ex["speaker"], "types": "，".join(NER_TYPES.values())},
    gold=_ner_gold, answer=_ner_answer, parse=_ner_parse,
    metrics={"cblue": lambda g, p, _x: set_micro_prf(g, p), "promptcblue": _ner_pcb},
    headline={"cblue": "f1", "promptcblue": "f1"},
    to_record=lambda ex, p: {**ex, "BIO_label": to_bio(len(ex["sentence"]), p)},
    submit_file="IMCS-V2-NER_test.json", max_new_tokens=64, reader=read_sentences,
    writer=lambda recs: nest(recs, "BIO_label"),
))


# -- DAC --------------------------------------------------------------------------------------------
_dac = classification_task(
    "IMCS-V2-DAC", repo_dir="IMCS-V2", labels=ACTS, native="accuracy", promptcblue_avg="macro",
    label_key="dialogue_act",
    fields=lambda ex: {"sentence": ex["sentence"], "speaker": ex["speaker"], "options": options(ACTS)},
    templates=[
        Template("zero", "判断下面问诊对话语句的意图。\n选项：{options}\n{speaker}：{sentence}\n意图："),
        Template("short", "“{sentence}”的对话意图（{options}）：\n答："),
        Template("few3", "判断下面问诊对话语句的意图。\n选项：{options}\n{speaker}：{sentence}\n意图：", shots=3),
    ],
)
register(dataclasses.replace(_dac, paths=PATHS, reader=read_sentences, writer=lambda r: nest(r, "dialogue_act")))


# -- SR ---------------------------------------------------------------------------------------------
def _sr_gold(ex: Example) -> list[tuple[str, str]]:
    info = ex.get("local_implicit_info") or {}
    return sorted((str(k), str(v)) for k, v in info.items()) if isinstance(info, dict) else []


def _sr_parse(text: str, _ex: Example) -> list[tuple[str, str]] | None:
    out = set()
    for line in (text or "").splitlines():
        kv = re.split(r"[：:]", line.strip(), maxsplit=1)
        if len(kv) == 2 and kv[0].strip() and (st := STATUS_NAMES.get(kv[1].strip().strip("。"))) is not None:
            out.add((kv[0].strip(), st))
    if not out and not P.is_none_answer(text):
        return None
    return sorted(out)


def _sr_writer(recs: list[Example]) -> dict[str, dict[str, Any]]:
    out = nest(recs, "local_implicit_info")
    for sents in out.values():  # dialogue level ("global"): every sentence's labels, later ones win
        sents["global"] = {k: v for s in list(sents.values()) for k, v in (s or {}).items()}
    return out


SR_T = ("找出当前对话语句中提到的症状，并判断病人是否患有（{statuses}）。每个症状一行，格式为“症状：{statuses_eg}”；"
        "没有症状时回答“无”。\n对话历史：\n{history}\n当前语句：\n{speaker}：{sentence}\n答：")
register(Task(
    name="IMCS-V2-SR", kind="sr", paths=PATHS,
    templates=[Template("zero", SR_T), Template("short", "症状及阴阳性：\n{speaker}：{sentence}\n答："),
               Template("few3", SR_T, shots=3)],
    fields=lambda ex: {"sentence": ex["sentence"], "speaker": ex["speaker"], "history": ex.get("history") or "无",
                       "statuses": "，".join(STATUS.values()), "statuses_eg": STATUS["1"]},
    gold=_sr_gold, answer=lambda g, _ex: "\n".join(f"{s}：{STATUS.get(v, v)}" for s, v in g) or "无",
    parse=_sr_parse,
    metrics={"cblue": lambda g, p, _x: set_micro_prf(g, p), "promptcblue": lambda g, p, _x: set_micro_prf(g, p)},
    headline={"cblue": "f1", "promptcblue": "f1"},
    to_record=lambda ex, p: {**ex, "local_implicit_info": dict(p or ())},
    submit_file="IMCS-V2-SR_test.json", max_new_tokens=64, reader=read_sentences, writer=_sr_writer,
))


# -- MRG --------------------------------------------------------------------------------------------
def sections(text: str) -> dict[str, str]:
    """'主诉：…' lines -> {section: text}; PromptCBLUE scores each gold section against these."""
    out: dict[str, str] = {}
    for line in (text or "").splitlines():
        kv = re.split(r"[：:]", line.strip(), maxsplit=1)
        if len(kv) == 2 and kv[0].strip() in SECTIONS:
            out[kv[0].strip()] = kv[1].strip()
    return out


def _first(pred: Any) -> str | None:  # a parsed answer is text; a gold record used as a prediction, its reports
    return pred[0] if isinstance(pred, tuple) and pred else pred if isinstance(pred, str) else None


def _mrg_cblue(golds, preds, _ex) -> dict[str, float]:
    return multi_ref_rouge([_first(p) for p in preds], [list(g) for g in golds])


def _mrg_pcb(golds, preds, _ex) -> dict[str, float]:
    from medgo.eval.suites.promptcblue import score_task as pcb_score  # the suite imports the task registry

    g = [sections(x[0]) if x else {} for x in golds]
    return pcb_score("IMCS-V2-MRG", g, [sections(_first(p) or "") for p in preds])


MRG_T = "根据下面的问诊对话写出诊疗报告，分{n}行：{secs}，每行格式为“章节：内容”。\n对话：\n{dialogue}\n报告："
register(Task(
    name="IMCS-V2-MRG", kind="generation", paths=PATHS,
    templates=[Template("zero", MRG_T), Template("short", "{dialogue}\n诊疗报告："), Template("few1", MRG_T, shots=1)],
    fields=lambda ex: {"dialogue": ex["dialogue"], "n": str(len(SECTIONS)), "secs": "，".join(SECTIONS)},
    gold=lambda ex: tuple(render_report(r) for r in ex.get("report") or []),
    answer=lambda g, _ex: g[0] if g else "", parse=lambda t, _ex: (t or "").strip() or None,
    metrics={"cblue": _mrg_cblue, "promptcblue": _mrg_pcb}, headline={"cblue": "rougeL", "promptcblue": "rougeL"},
    to_record=lambda ex, p: {**ex, "report": [_first(p) or ""]},
    submit_file="IMCS-V2-MRG_test.json", max_new_tokens=256, reader=read_dialogues,
    writer=lambda recs: {r["id"]: r["report"][0] for r in recs},
))
