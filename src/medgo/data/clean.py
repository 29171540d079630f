"""Text normalisation for Chinese corpora: NFKC, full-width ASCII to half-width (Chinese punctuation kept),
control and zero-width characters, HTML/markup, whitespace."""

from __future__ import annotations

import html
import re
import unicodedata

# Chinese prose uses full-width ，！？：；（） on purpose, and NFKC would corrupt clinical notation
# (10⁹/L -> 109/L, ℃ -> °C, ① -> 1), so these are parked in the private-use area during NFKC.
_KEEP = "，！？：；（）℃℉⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻₀₁₂₃₄₅₆₇₈₉" + "".join(chr(c) for c in range(0x2460, 0x2474))
_PARK = {ord(c): chr(0xE000 + i) for i, c in enumerate(_KEEP)}
_UNPARK = {ord(chr(0xE000 + i)): c for i, c in enumerate(_KEEP)}

_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u2060\ufeff\ufffc\ufffd]")
_TAG = re.compile(r"<\s*(script|style)\b[^>]*>.*?<\s*/\s*\1\s*>|<!--.*?-->|</?[A-Za-z][A-Za-z0-9]*\b[^<>]*>", re.S | re.I)
_BLOCK_TAG = re.compile(r"<\s*(br|/p|/div|/li|/tr|/h[1-6])\b[^>]*>", re.I)
_MD_IMG = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\((?:https?://|/)[^)]*\)")
_HSPACE = re.compile(r"[ \t\u00a0\u3000]+")
_MANY_NL = re.compile(r"\n{3,}")
_CJK_SPACE = re.compile(r"(?<=[\u4e00-\u9fff，。！？：；、）])[ ]+(?=[\u4e00-\u9fff，。！？：；、（])")


def strip_markup(text: str) -> str:
    if "<" in text and ">" in text:
        text = _BLOCK_TAG.sub("\n", text)
        text = _TAG.sub("", text)
    if "&" in text:
        text = html.unescape(text)
    if "](" in text:
        text = _MD_IMG.sub("", text)
        text = _MD_LINK.sub(r"\1", text)
    return text


def normalize_text(text: str, *, markup: bool = True) -> str:
    """Idempotent cleaning of one document."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if markup:
        text = strip_markup(text)
    text = unicodedata.normalize("NFKC", text.translate(_PARK)).translate(_UNPARK)
    text = _CTRL.sub("", text)
    text = _HSPACE.sub(" ", text)
    text = _CJK_SPACE.sub("", text)  # spaces between Chinese characters are layout noise
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = _MANY_NL.sub("\n\n", text)
    return text.strip()
