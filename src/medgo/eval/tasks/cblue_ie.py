"""CBLUE extraction tasks: CMeEE(-V2) nested NER, CMeIE(-V2) triples, CHIP-CDN normalisation, CHIP-CDEE events.

Canonical items are tuples, so one set-based micro-F1 scores every task; the two conventions differ only in
which fields of an item are compared (CBLUE: spans; PromptCBLUE: mention strings as its evaluator sees them)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from medgo.eval.metrics import set_micro_prf
from medgo.eval.tasks import parsers as P
from medgo.eval.tasks.base import Example, Task, Template
from medgo.eval.tasks.common import paths
from medgo.eval.tasks.registry import register

NER_TYPES = {"dis": "疾病", "sym": "临床表现", "pro": "医疗程序", "equ": "医疗设备", "dru": "药物",
             "ite": "医学检验项目", "bod": "身体部位", "dep": "医院科室", "mic": "微生物类"}
NER_NAMES = {**{v: k for k, v in NER_TYPES.items()}, **{k: k for k in NER_TYPES}}
PREDICATES = [
    "预防", "阶段", "就诊科室", "同义词", "辅助治疗", "化疗", "放射治疗", "手术治疗", "实验室检查", "影像学检查",
    "辅助检查", "组织学检查", "内窥镜检查", "筛查", "多发群体", "发病率", "发病年龄", "多发地区", "发病性别倾向",
    "死亡率", "多发季节", "传播途径", "并发症", "病理分型", "相关（导致）", "鉴别诊断", "相关（转化）", "相关（症状）",
    "临床表现", "治疗后症状", "侵及周围组织转移的症状", "病因", "高危因素", "风险评估因素", "病史", "遗传因素",
    "发病机制", "病理生理", "药物治疗", "发病部位", "转移部位", "外侵部位", "预后状况", "预后生存率",
]
CDEE_KEYS = {"主体词": "core_name", "发生状态": "tendency", "描述词": "character", "解剖部位": "anatomy_list"}


def _f(fn):  # a metric over (golds, preds) wrapped to the (golds, preds, examples) signature
    return lambda g, p, _ex: fn(g, p)


# -- NER -------------------------------------------------------------------------------------------
def _ner_gold(ex: Example) -> list[tuple[int, int, str]]:
    return [(int(e["start_idx"]), int(e["end_idx"]), e["type"]) for e in ex.get("entities") or []]


def _ner_answer(gold: Sequence[tuple[int, int, str]], ex: Example) -> str:
    by: dict[str, list[str]] = {}
    for s, e, t in sorted(gold):
        m = ex["text"][s : e + 1]
        if m not in by.setdefault(t, []):
            by[t].append(m)
    lines = [f"{NER_TYPES[t]}：{'，'.join(ms)}" for t, ms in by.items() if t in NER_TYPES]
    return "\n".join(lines) or "无"


def _ner_parse(text: str, ex: Example) -> list[tuple[int, int, str]] | None:
    rows = P.typed_lines(text, NER_NAMES)
    if rows is None:
        return None
    out = {(s, e, t) for t, ms in rows for m in ms for s, e in P.locate_all(ex["text"], m)}
    return sorted(out)


def _ner_pcb(golds, preds, examples):
    # PromptCBLUE compares (mention, type) per sample, positions dropped
    def key(items, ex):
        return {(ex["text"][s : e + 1], NER_TYPES.get(t, t)) for s, e, t in items or ()}
    return set_micro_prf([key(g, x) for g, x in zip(golds, examples, strict=True)],
                         [key(p, x) for p, x in zip(preds, examples, strict=True)])


def _ner_record(ex: Example, pred) -> Example:
    ents = [{"start_idx": s, "end_idx": e, "type": t, "entity": ex["text"][s : e + 1]} for s, e, t in pred or ()]
    return {**ex, "entities": ents}


NER_TEMPLATES = [
    Template("zero", "找出下面句子中的医学实体。实体类型：{types}。\n每类实体一行，格式为“类型：实体1，实体2”；"
                     "没有实体时回答“无”。\n句子：{text}\n答："),
    Template("short", "抽取{types}实体：\n{text}\n答："),
    Template("few3", "找出下面句子中的医学实体。实体类型：{types}。\n每类实体一行，格式为“类型：实体1，实体2”；"
                     "没有实体时回答“无”。\n句子：{text}\n答：", shots=3),
]

for _name, _dir in (("CMeEE", "Sherlock-coder_CBLUE/data/CMeEE"), ("CMeEE-V2", "honeyandme_knowledge/data/CMeEE-V2")):
    register(Task(
        name=_name, kind="ner", paths={s: paths(_name, _dir) for s in ("train", "dev", "test")},
        templates=NER_TEMPLATES, fields=lambda ex: {"text": ex["text"], "types": "，".join(NER_TYPES.values())},
        gold=_ner_gold, answer=_ner_answer, parse=_ner_parse,
        metrics={"cblue": _f(set_micro_prf), "promptcblue": _ner_pcb}, headline={"cblue": "f1", "promptcblue": "f1"},
        to_record=_ner_record, submit_file=f"{_name}_test.json", max_new_tokens=160, id_key=None,
    ))


# -- CMeIE -----------------------------------------------------------------------------------------
def _obj(o: Any) -> str:
    return o.get("@value", "") if isinstance(o, dict) else str(o)


def _spo_gold(ex: Example) -> list[tuple[str, str, str]]:
    return [(s["subject"], s["predicate"], _obj(s["object"])) for s in ex.get("spo_list") or []]


def _spo_answer(gold, _ex) -> str:
    seen = list(dict.fromkeys(gold))
    return "\n".join(f"{s} | {p} | {o}" for s, p, o in seen) or "无"


def _spo_record(ex: Example, pred) -> Example:
    spo = [{"subject": s, "predicate": p, "object": {"@value": o}} for s, p, o in pred or ()]
    return {**ex, "spo_list": spo}


SPO_TEMPLATES = [
    Template("zero", "从下面的医学文本中抽取（主体 | 关系 | 客体）三元组，每行一个，格式为“主体 | 关系 | 客体”；"
                     "没有时回答“无”。\n关系类型：{predicates}\n文本：{text}\n答："),
    Template("short", "抽取三元组（主体 | 关系 | 客体）：\n{text}\n答："),
    Template("few3", "从下面的医学文本中抽取（主体 | 关系 | 客体）三元组，每行一个，格式为“主体 | 关系 | 客体”；"
                     "没有时回答“无”。\n关系类型：{predicates}\n文本：{text}\n答：", shots=3),
]
for _name, _dir, _ext in (("CMeIE", "Sherlock-coder_CBLUE/data/CMeIE", "json"),
                          ("CMeIE-V2", "simmed2017_CCHDnet-PMVSD/CMeIE-V2", "jsonl")):
    register(Task(
        name=_name, kind="spo", paths={s: paths(_name, _dir, ext=_ext) for s in ("train", "dev", "test")},
        templates=SPO_TEMPLATES, fields=lambda ex: {"text": ex["text"], "predicates": "，".join(PREDICATES)},
        gold=_spo_gold, answer=_spo_answer, parse=lambda t, _ex: P.triples(t),
        metrics={"cblue": _f(set_micro_prf), "promptcblue": _f(set_micro_prf)},
        headline={"cblue": "f1", "promptcblue": "f1"},
        to_record=_spo_record, submit_file=f"{_name}_test.{_ext}", max_new_tokens=200, id_key=None,
    ))


# -- CHIP-CDN --------------------------------------------------------------------------------------
def _cdn_gold(ex: Example) -> list[str]:
    return [t.strip() for t in str(ex.get("normalized_result") or "").split("##") if t.strip()]


register(Task(
    name="CHIP-CDN", kind="cdn", paths={s: paths("CHIP-CDN", "Sherlock-coder_CBLUE/data/CHIP-CDN")
                                        for s in ("train", "dev", "test")},
    templates=[
        Template("zero", "把下面的诊断描述归一到ICD-10标准词，多个标准词用“##”连接。\n诊断：{text}\n标准词："),
        Template("short", "“{text}”的标准诊断名（用##分隔）：\n答："),
        Template("few3", "把下面的诊断描述归一到ICD-10标准词，多个标准词用“##”连接。\n诊断：{text}\n标准词：", shots=3),
    ],
    fields=lambda ex: {"text": ex["text"].strip()}, gold=_cdn_gold,
    answer=lambda g, _ex: "##".join(dict.fromkeys(g)) or "无", parse=lambda t, _ex: P.hash_terms(t),
    metrics={"cblue": _f(set_micro_prf), "promptcblue": _f(set_micro_prf)},
    headline={"cblue": "f1", "promptcblue": "f1"},
    to_record=lambda ex, p: {**ex, "normalized_result": "##".join(dict.fromkeys(p or ()))},
    submit_file="CHIP-CDN_test.json", max_new_tokens=48, id_key=None,
))


# -- CHIP-CDEE -------------------------------------------------------------------------------------
def _event(e: dict) -> tuple[str, str, tuple[str, ...], tuple[str, ...]]:
    return (str(e.get("core_name", "")), str(e.get("tendency", "")),
            tuple(e.get("character") or ()), tuple(e.get("anatomy_list") or ()))


def _cdee_gold(ex: Example) -> list[tuple]:
    return [_event(e) for e in ex.get("event") or []]


def _cdee_answer(gold, _ex) -> str:
    return "\n".join(f"主体词：{c}；发生状态：{t}；描述词：{'，'.join(ch)}；解剖部位：{'，'.join(an)}"
                     for c, t, ch, an in gold) or "无"


def _cdee_parse(text: str, _ex: Example):
    evs = P.kv_events(text, CDEE_KEYS, {"character", "anatomy_list"})
    return None if evs is None else [_event(e) for e in evs]


def _cdee_cblue(golds, preds, _ex):
    # an event matches when all four fields match; descriptor and site lists compare as sets
    def key(items):
        return {(c, t, tuple(sorted(set(ch))), tuple(sorted(set(an)))) for c, t, ch, an in items or ()}
    return set_micro_prf([key(g) for g in golds], [key(p) for p in preds])


def _cdee_pcb(golds, preds, _ex):
    # PromptCBLUE json-dumps each field value (lists keep their order), keys sorted
    def key(items):
        return {tuple(json.dumps(v, ensure_ascii=False) for v in (c, t, list(ch), list(an)))
                for c, t, ch, an in items or ()}
    return set_micro_prf([key(g) for g in golds], [key(p) for p in preds])


register(Task(
    name="CHIP-CDEE", kind="event", paths={s: paths("CHIP-CDEE", "zlnick_LLaMA-Factory/data/CHIP-CDEE")
                                            for s in ("train", "dev", "test")},
    templates=[
        Template("zero", "抽取下面病历文本中的临床发现事件，每个事件一行，格式为"
                         "“主体词：…；发生状态：…；描述词：…，…；解剖部位：…，…”（发生状态为否定、不确定或空）；"
                         "没有事件时回答“无”。\n文本：{text}\n答："),
        Template("short", "临床发现事件抽取：\n{text}\n答："),
        Template("few2", "抽取下面病历文本中的临床发现事件，每个事件一行，格式为"
                         "“主体词：…；发生状态：…；描述词：…，…；解剖部位：…，…”（发生状态为否定、不确定或空）；"
                         "没有事件时回答“无”。\n文本：{text}\n答：", shots=2),
    ],
    fields=lambda ex: {"text": ex["text"]}, gold=_cdee_gold, answer=_cdee_answer, parse=_cdee_parse,
    metrics={"cblue": _cdee_cblue, "promptcblue": _cdee_pcb}, headline={"cblue": "f1", "promptcblue": "f1"},
    to_record=lambda ex, p: {**ex, "event": [
        {"core_name": c, "tendency": t, "character": list(ch), "anatomy_list": list(an)} for c, t, ch, an in p or ()
    ]},
    submit_file="CHIP-CDEE_test.json", max_new_tokens=200,
))
