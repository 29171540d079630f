"""CBLUE 3.0 tasks with a published format but no files in the shared data (the project's samples, written
for medgo, stand in): Text2DT (text -> diagnosis/treatment decision tree) and CMedCausal (causal, conditional
and hyponymy relations between mentions).

Text2DT record: {text, tree: [{role: C|D, triples: [[s, r, o], ...], logical_rel: and|or|null}, ...]} in
pre-order; scored by metrics/tree.py, decision-path F1 as the task score.
CMedCausal record: {text, relation_of_mention: [{head: {mention, start_idx}, relation: 1|2|3, tail: {mention,
start_idx} | {head, relation, tail}}]} (1 因果, 2 条件: the head conditions the tail relation, 3 上下位);
micro-F1 over per-text sets of relations compared by mention text and relation (positions dropped, as for
CMeIE triples)."""

from __future__ import annotations

import re
from typing import Any

from medgo.eval.metrics import set_micro_prf
from medgo.eval.metrics.tree import tree_scores
from medgo.eval.tasks import parsers as P
from medgo.eval.tasks.base import Example, Task, Template
from medgo.eval.tasks.common import paths
from medgo.eval.tasks.registry import register

LOGIC = ("and", "or", "null")


# -- Text2DT ----------------------------------------------------------------------------------------
def _node(n: dict) -> tuple[str, str, frozenset]:
    trip = frozenset(tuple(str(x) for x in t) for t in n.get("triples") or [] if len(t) == 3)
    return (str(n.get("role", "")), str(n.get("logical_rel") or "null"), trip)


def _dt_answer(gold, _ex) -> str:
    return "\n".join(f"{role} {rel}：" + "；".join("|".join(t) for t in sorted(trip)) for role, rel, trip in gold)


_DT_LINE = re.compile(r"^\s*([CD])\s*(and|or|null)?\s*[：:](.*)$")


def _dt_parse(text: str, _ex: Example):
    nodes = []
    for line in (text or "").splitlines():
        m = _DT_LINE.match(line)
        if not m:
            continue
        trips = [tuple(x.strip() for x in t.split("|")) for t in re.split(r"[；;]", m.group(3)) if t.strip()]
        nodes.append((m.group(1), m.group(2) or "null", frozenset(t for t in trips if len(t) == 3 and all(t))))
    return nodes or None


DT_T = ("把下面的诊疗文本转成诊疗决策树，按先序每行一个节点：“角色 逻辑关系：主体|关系|客体；…”。角色C为条件、D为决策；"
        "条件节点后先写“是”分支再写“否”分支；逻辑关系为and、or或null。\n文本：{text}\n决策树：")
register(Task(
    name="Text2DT", kind="tree", paths={s: paths("Text2DT") for s in ("train", "dev", "test")},
    templates=[Template("zero", DT_T), Template("short", "诊疗决策树：\n{text}\n答："), Template("few1", DT_T, shots=1)],
    fields=lambda ex: {"text": ex["text"]}, gold=lambda ex: tuple(_node(n) for n in ex.get("tree") or []),
    answer=_dt_answer, parse=_dt_parse,
    metrics={"cblue": lambda g, p, _x: tree_scores(g, p), "promptcblue": lambda g, p, _x: tree_scores(g, p)},
    headline={"cblue": "path_f1", "promptcblue": "path_f1"},
    to_record=lambda ex, p: {**ex, "tree": [{"role": r, "triples": [list(t) for t in sorted(tr)], "logical_rel": lr}
                                            for r, lr, tr in p or ()]},
    submit_file="Text2DT_test.json", max_new_tokens=256, id_key=None,
))


# -- CMedCausal -------------------------------------------------------------------------------------
REL = {1: "因果", 2: "条件", 3: "上下位"}
REL_ID = {v: k for k, v in REL.items()}


def _rel(r: dict) -> tuple:
    tail = r.get("tail") or {}
    t: Any = _rel(tail) if "relation" in tail else str(tail.get("mention", ""))
    return (str((r.get("head") or {}).get("mention", "")), int(r.get("relation", 0)), t)


def _fmt(item) -> str:
    h, r, t = item
    return f"{h} | {REL.get(r, r)} | " + (f"({_fmt(t)})" if isinstance(t, tuple) else t)


_NESTED = re.compile(r"^(.+?)\s*[|｜]\s*(因果|条件|上下位)\s*[|｜]\s*[(（](.+)[)）]$")


def _parse_item(s: str):
    s = s.strip()
    m = _NESTED.match(s)
    if m:
        inner = _parse_item(m.group(3))
        return (m.group(1).strip(), REL_ID[m.group(2)], inner) if inner else None
    parts = [x.strip() for x in re.split(r"[|｜]", s)]
    if len(parts) == 3 and parts[0] and parts[2] and parts[1] in REL_ID:
        return (parts[0], REL_ID[parts[1]], parts[2])
    return None


def _causal_parse(text: str, _ex: Example):
    out = [it for line in (text or "").splitlines() if (it := _parse_item(line))]
    if not out and not P.is_none_answer(text):
        return None
    return sorted(set(out), key=str)


def _record_rel(item) -> dict:
    h, r, t = item
    return {"head": {"mention": h}, "relation": r, "tail": _record_rel(t) if isinstance(t, tuple) else {"mention": t}}


CAUSAL_T = ("抽取下面医学文本中的关系，每行一个，格式为“头 | 关系 | 尾”，关系为因果、条件或上下位；"
            "条件关系的尾是一个括号里的因果关系，如“A | 条件 | (B | 因果 | C)”。没有时回答“无”。\n文本：{text}\n答：")
register(Task(
    name="CMedCausal", kind="causal", paths={s: paths("CMedCausal") for s in ("train", "dev", "test")},
    templates=[Template("zero", CAUSAL_T), Template("short", "因果关系抽取：\n{text}\n答："),
               Template("few2", CAUSAL_T, shots=2)],
    fields=lambda ex: {"text": ex["text"]}, gold=lambda ex: [_rel(r) for r in ex.get("relation_of_mention") or []],
    answer=lambda g, _ex: "\n".join(dict.fromkeys(_fmt(x) for x in g)) or "无", parse=_causal_parse,
    metrics={"cblue": lambda g, p, _x: set_micro_prf(g, p), "promptcblue": lambda g, p, _x: set_micro_prf(g, p)},
    headline={"cblue": "f1", "promptcblue": "f1"},
    to_record=lambda ex, p: {**ex, "relation_of_mention": [_record_rel(x) for x in p or ()]},
    submit_file="CMedCausal_test.json", max_new_tokens=160, id_key=None,
))
