"""ROUGE as PromptCBLUE computes it: transformers' BasicTokenizer (Chinese split per character, English words
kept, lower-cased), empty text replaced by "无 。", rouge-chinese `get_scores(avg=True)` F-measures."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache


@lru_cache(maxsize=1)
def _basic_tokenizer():
    from transformers import BasicTokenizer

    return BasicTokenizer(tokenize_chinese_chars=True)


def char_split(text: str) -> str:
    out = " ".join(_basic_tokenizer().tokenize(text)).strip()
    return out or "无 。"


def rouge_f(preds: Sequence[str], refs: Sequence[str]) -> dict[str, float]:
    if not refs:
        return {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    from rouge_chinese import Rouge

    s = Rouge().get_scores([char_split(p) for p in preds], [char_split(r) for r in refs], avg=True)
    return {"rouge1": s["rouge-1"]["f"], "rouge2": s["rouge-2"]["f"], "rougeL": s["rouge-l"]["f"]}
