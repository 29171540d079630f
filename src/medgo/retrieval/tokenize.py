"""Chinese tokenisation for BM25: jieba words or overlapping character bigrams.

Both normalise the same way (NFKC + lowercase, punctuation dropped, latin/digit runs kept whole) so that
the only difference measured between them is how CJK runs are cut.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable

Tokenizer = Callable[[str], list[str]]

# CJK unified ideographs (+ extension A); everything else that is a word char becomes a latin/digit run.
_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+|[^\W_\u3400-\u4dbf\u4e00-\u9fff]+(?:\.\d+)?")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
TOKENIZERS = ("jieba", "bigram")


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def bigram_tokenize(text: str) -> list[str]:
    """CJK runs -> overlapping bigrams (a lone character stays a unigram); other runs stay whole."""
    out: list[str] = []
    for m in _RUN.finditer(normalize(text)):
        run = m.group()
        if _CJK.match(run):
            out.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
        else:
            out.append(run)
    return out


_jieba = None


def jieba_tokenize(text: str) -> list[str]:
    """jieba precise mode, applied per run so punctuation never glues to a word."""
    global _jieba
    if _jieba is None:
        import jieba  # lazy: loading its dictionary costs ~1 s

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        _jieba = jieba
    out: list[str] = []
    for m in _RUN.finditer(normalize(text)):
        run = m.group()
        if _CJK.match(run):
            out.extend(w for w in _jieba.lcut(run, HMM=True) if w.strip())
        else:
            out.append(run)
    return out


def get_tokenizer(name: str) -> Tokenizer:
    if name == "jieba":
        return jieba_tokenize
    if name == "bigram":
        return bigram_tokenize
    from medgo.errors import MedgoError

    raise MedgoError(f"unknown tokenizer {name!r}", hint=f"use one of: {', '.join(TOKENIZERS)}")
