"""PromptCBLUE answer texts -> structured answers, following the answer formats its post-processing reads
(one rule per task family). Never raises: text that fits no rule yields an empty structure."""

from __future__ import annotations

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
    ans = text.strip()
    if task == "CHIP-STS":
        ans = {"相同": "是的", "不同": "不是"}.get(ans, ans)
    return ans
