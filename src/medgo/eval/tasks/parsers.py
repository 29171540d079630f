"""Answer parsers: total functions (never raise) from model text to a canonical prediction, None = unparseable."""

from __future__ import annotations

import re
from collections.abc import Mapping

_SEP = re.compile(r"[，,、；;]")
_COLON = re.compile(r"[：:]")
NONE_WORDS = ("无", "没有", "none", "None", "空")


def clean(text: str) -> str:
    return (text or "").strip().strip("。.").strip()


def parse_label(text: str, labels: Mapping[str, str]) -> str | None:
    """Label id whose answer text the output states: an exact answer (or id) first, otherwise the label text
    mentioned earliest (longest wins at a tie, so "完全不匹配" beats "完全匹配" is not confused)."""
    t = clean(text)
    for lid, ans in labels.items():
        if t == ans or t == lid:
            return lid
    best: tuple[int, int, str] | None = None
    for lid, ans in labels.items():
        j = t.find(ans)
        if j != -1 and (best is None or (j, -len(ans)) < best[:2]):
            best = (j, -len(ans), lid)
    return best[2] if best else None


def is_none_answer(text: str) -> bool:
    t = clean(text)
    return t == "" or t in NONE_WORDS


def typed_lines(text: str, names: Mapping[str, str]) -> list[tuple[str, list[str]]] | None:
    """Lines 'TYPE：a，b' -> [(type id, [a, b])]. `names` maps a type's answer text (or id) to its id.
    None when no line names a known type and the answer is not an explicit 'none'."""
    out: list[tuple[str, list[str]]] = []
    for line in (text or "").splitlines():
        parts = _COLON.split(line.strip(), maxsplit=1)
        if len(parts) != 2:
            continue
        key = parts[0].strip().strip("-*· ").removesuffix("实体")
        tid = names.get(key)
        if tid is None:
            continue
        vals = [v.strip().strip("。") for v in _SEP.split(parts[1])]
        out.append((tid, [v for v in vals if v and v not in NONE_WORDS]))
    if not out and not is_none_answer(text):
        return None
    return out


def locate_all(text: str, mention: str) -> list[tuple[int, int]]:
    """Every (start, end inclusive) occurrence of mention in text, overlapping ones included."""
    spans, j = [], text.find(mention)
    while mention and j != -1:
        spans.append((j, j + len(mention) - 1))
        j = text.find(mention, j + 1)
    return spans


def triples(text: str) -> list[tuple[str, str, str]] | None:
    """Lines 'subject | predicate | object' (full-width ｜ too); None when nothing parses and it is no 'none'."""
    out = []
    for line in (text or "").splitlines():
        parts = [p.strip() for p in re.split(r"[|｜]", line.strip().strip("()（）"))]
        if len(parts) == 3 and all(parts):
            out.append((parts[0], parts[1], parts[2]))
    if not out and not is_none_answer(text):
        return None
    return out


def hash_terms(text: str) -> list[str] | None:
    """CHIP-CDN answers 'term1##term2' (one line); also accepts one term per line."""
    t = clean(text)
    if is_none_answer(t):
        return []
    terms = [x.strip() for line in t.splitlines() for x in line.split("##")]
    terms = [x for x in terms if x]
    return terms or None


def kv_events(text: str, keys: Mapping[str, str], list_keys: set[str]) -> list[dict] | None:
    """Lines 'K1：v；K2：a，b' -> dicts keyed by field id; lines without the first key are skipped."""
    first = next(iter(keys))
    out = []
    for line in (text or "").splitlines():
        ev: dict = {}
        for part in re.split(r"[；;]", line):
            kv = _COLON.split(part.strip(), maxsplit=1)
            if len(kv) == 2 and kv[0].strip() in keys:
                fid, val = keys[kv[0].strip()], kv[1].strip()
                ev[fid] = [v.strip() for v in _SEP.split(val) if v.strip()] if fid in list_keys else val
        if keys[first] in ev and ev[keys[first]]:
            out.append(ev)
    if not out and not is_none_answer(text):
        return None
    return out
