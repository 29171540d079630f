"""PromptCBLUE answer texts -> structured answers, following the answer formats its post-processing reads
(one rule per task family). Never raises: text that fits no rule yields an empty structure."""

from __future__ import annotations

import ast
from typing import Any

CDEE_KEYS = ["主体词", "发生状态", "描述词", "解剖部位"]
MRG_KEYS = ["主诉：", "现病史：", "辅助检查：", "既往史：", "诊断：", "建议："]
ATTR_DEFAULT = {"CHIP-MDCFNPC": "不标注", "IMCS-V2-SR": "无法根据上下文确定病人是否患有该症状"}


def _ner(text: str, choices: list[str]) -> list[dict]:
    out = []
    for choice in choices:
        for piece in text.split("\n"):
            if piece.startswith(f"{choice}实体"):
                for m in piece.replace(f"{choice}实体：", "").split("，"):
                    if m.strip():
                        out.append({"entity": m.strip(), "type": choice})
    return out


def _spo(text: str) -> list[dict]:
    out = []
    for line in text.split("\n"):
        pred = line.split("关系的头尾实体对")[0][2:].strip()  # drops the leading "具有"
        line = line.replace(f"具有{pred}关系的头尾实体对如下：", "")
        for spo in line.split("。"):
            parts = spo.split("，尾实体为")
            if len(parts) < 2:
                continue
            out.append({"predicate": pred, "subject": parts[0].replace("头实体为", "").strip(),
                        "object": parts[1].replace("尾实体为", "").strip()})
    return out


def _cdn(text: str, choices: list[str]) -> list[dict]:
    terms = [w.strip() for w in text.split("\n")[-1].split("，") if w.strip()]
    keep = sorted({w for w in terms if w in choices})
    return [{"entity": w, "type": "normalization"} for w in keep]


def _cdee(text: str) -> list[dict]:
    events = []
    for line in text.split("\n")[1:]:  # line 1 is the lead-in sentence
        ev: dict[str, Any] = {}
        for attr in line.split("；"):
            for key in CDEE_KEYS:
                if attr.startswith(f"{key}："):
                    val = attr.replace(f"{key}：", "").strip()
                    ev[key] = [w.strip() for w in val.split("，") if w.strip()] if key in ("描述词", "解剖部位") else val
        for key in CDEE_KEYS:
            ev.setdefault(key, [] if key in ("描述词", "解剖部位") else "")
        events.append(ev)
    return events


def _attrs(text: str, choices: list[str], default: str) -> list[dict]:
    out = []
    for line in text.split("\n")[1:]:
        parts = line.split("：")
        if len(parts) != 2:
            continue
        concl = parts[1] if parts[1] in choices else default
        out.append({"entity": parts[0].strip(), "attr": concl})
    return out


def _mrg(text: str) -> dict[str, str]:
    out = {}
    for key in MRG_KEYS:
        for line in text.strip().split("\n")[1:]:
            if line.startswith(key):
                out[key[:-1]] = line.strip().split(key)[-1].strip()
    return out


CAUSAL_HEADERS = (("因果关系三元组如下", "因果关系"), ("条件关系三元组", "条件关系"), ("上下位关系", "上下位关系"))
CAUSAL_NONE = "给定的文本没有指定关系的三元组"
TEXT2DT_LEAD = "根据给定的指南文本抽取的诊疗决策树"
TEXT2DT_EMPTY = [{"role": "D", "logical_rel": "null", "triples": []}]


def _causal_line(line: str, rel: str | None) -> dict | None:
    """One triple line; None where the line does not fit (the official script would stop on it)."""
    if "头实体：" not in line or "；尾实体：" not in line:
        return None
    head = line.split("头实体：")[1].split("；尾实体：")[0]
    if rel != "条件关系":
        return {"predicate": rel, "subject": head, "object": line.split("；尾实体：")[1]}
    if "；尾三元组：" not in line:
        return None
    tail = line.split("；尾三元组：")[1]
    if "头实体：" not in tail or "；尾实体：" not in tail or "；关系：" not in tail:
        return None
    rel1 = tail.split("；关系：")[1].split("；关系：")[0]
    if rel1 != "因果关系":
        return None
    inner = {"predicate": rel1, "subject": tail.split("头实体：")[1].split("；尾实体：")[0],
             "object": tail.split("；尾实体：")[1].split("；关系：")[0]}
    return {"predicate": rel, "subject": head, "object": inner}


def _causal(text: str) -> list[dict]:
    """CMedCausal: a header line per relation type, then one "头实体：A；尾实体：B" line per triple; a
    condition's tail is itself a causal triple ("头实体：A；尾三元组：头实体：B；尾实体：C；关系：因果关系")."""
    out: list[dict] = []
    rel: str | None = None
    for raw in text.split("\n"):
        line = raw.strip()
        header = next((r for key, r in CAUSAL_HEADERS if key in line), None)
        if header is not None:
            rel = header
            continue
        if CAUSAL_NONE in line:
            break
        if line and (triple := _causal_line(line, rel)) is not None:
            out.append(triple)
    return out


def _triples(text: str) -> list:
    try:
        val = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return []
    if not isinstance(val, list):
        return []
    try:
        return [t for t in val if len(t) == 3]
    except TypeError:  # an element without a length: the official script drops the node's triples
        return []


def _text2dt(text: str) -> list[dict]:
    """Text2DT: one line per node in pre-order, "节点i：role=C；logical_rel=and；triples=[(h, r, t), ...]";
    no readable node -> a single empty decision node (as the official post-processing)."""
    nodes = []
    for line in text.split("\n"):
        if TEXT2DT_LEAD in line or not line or "：role=" not in line:
            continue
        role = line.split("：role=")[1].split("；logical_rel=")[0]
        rel = line.split("；logical_rel=")[1].split("；triples=")[0] if "；logical_rel=" in line else "null"
        triples = _triples(line.split("；triples=")[1]) if "；triples=" in line else []
        nodes.append({"role": role, "logical_rel": rel, "triples": triples})
    return nodes or [dict(n) for n in TEXT2DT_EMPTY]


def render_text2dt(tree: list[dict]) -> str:
    """A tree (nodes in pre-order: role, logical_rel, triples) as the answer text `_text2dt` reads."""
    lines = [f"{TEXT2DT_LEAD}如下："]
    for i, node in enumerate(tree, 1):
        trip = [tuple(t) for t in node.get("triples", [])]
        lines.append(f"节点{i}：role={node.get('role', 'D')}；logical_rel={node.get('logical_rel', 'null')}；triples={trip!r}")
    return "\n".join(lines)


def render_causal(triples: list[dict]) -> str:
    """Triples {predicate, subject, object} (a condition's object is a causal triple) as the answer text."""
    if not triples:
        return CAUSAL_NONE + "。"
    lines = []
    for key, rel in (("因果关系三元组如下：", "因果关系"), ("条件关系三元组如下：", "条件关系"), ("上下位关系三元组如下：", "上下位关系")):
        mine = [t for t in triples if t["predicate"] == rel]
        if not mine:
            continue
        lines.append(f"具有{key}")
        for t in mine:
            o = t["object"]
            if isinstance(o, dict):
                lines.append(f"头实体：{t['subject']}；尾三元组：头实体：{o['subject']}；尾实体：{o['object']}；关系：{o['predicate']}")
            else:
                lines.append(f"头实体：{t['subject']}；尾实体：{o}")
    return "\n".join(lines)


def structure(task: str, text: str, choices: list[str] | None) -> Any:
    text, choices = text or "", list(choices or [])
    if task in ("CMeEE-V2", "CMeEE", "IMCS-V2-NER"):
        return _ner(text, choices)
    if task in ("CMeIE", "CMeIE-V2"):
        return _spo(text)
    if task == "CHIP-CDN":
        return _cdn(text, choices)
    if task == "CHIP-CDEE":
        return _cdee(text)
    if task in ATTR_DEFAULT:
        return _attrs(text, choices, ATTR_DEFAULT[task])
    if task == "IMCS-V2-MRG":
        return _mrg(text)
    if task == "CMedCausal":
        return _causal(text)
    if task == "Text2DT":
        return _text2dt(text)
    ans = text.strip()
    if task == "CHIP-STS":
        ans = {"相同": "是的", "不同": "不是"}.get(ans, ans)
    return ans
