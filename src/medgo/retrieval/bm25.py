"""BM25 over bm25s with our Chinese tokenisers; tokens are kept on disk so `add` only tokenises new text."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from medgo.errors import DataError
from medgo.retrieval.tokenize import get_tokenizer

TOKENS_FILE = "tokens.txt"


def top_k(scores: np.ndarray, k: int, positive_only: bool) -> list[tuple[int, float]]:
    """Best k (doc index, score), ties broken by lower doc index so rankings are reproducible."""
    idx = np.flatnonzero(scores > 0) if positive_only else np.arange(len(scores))
    if len(idx) > k:
        # argpartition keeps ties at the cut unordered; widen to every doc scoring >= the k-th score.
        kth = np.partition(scores[idx], len(idx) - k)[len(idx) - k]
        idx = idx[scores[idx] >= kth]
    order = np.lexsort((idx, -scores[idx]))[:k]
    return [(int(idx[i]), float(scores[idx[i]])) for i in order]


class BM25:
    def __init__(self, tokenizer: str = "bigram", k1: float = 1.5, b: float = 0.75) -> None:
        self.tokenizer_name = tokenizer
        self.tokenize = get_tokenizer(tokenizer)
        self.k1, self.b = k1, b
        self.tokens: list[list[str]] = []
        self._bm25 = None

    def __len__(self) -> int:
        return len(self.tokens)

    def add(self, contents: list[str]) -> None:
        # bm25s has no incremental update and idf/avgdl depend on the whole corpus: rebuild the matrix
        # from cached tokens (cheap) and tokenise only what is new (the slow part, with jieba).
        self.tokens.extend(self.tokenize(c) for c in contents)
        self._rebuild()

    def _rebuild(self) -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)
        self._bm25 = bm25s.BM25(k1=self.k1, b=self.b)
        if self.tokens:
            self._bm25.index(self.tokens, show_progress=False)

    def search(self, query: str, depth: int) -> list[tuple[int, float]]:
        q = self.tokenize(query)
        if not q or not self.tokens or self._bm25 is None:
            return []
        return top_k(self._bm25.get_scores(q), depth, positive_only=True)

    def save(self, d: Path) -> None:
        d.mkdir(parents=True, exist_ok=True)
        with (d / TOKENS_FILE).open("w", encoding="utf-8") as f:
            f.writelines(" ".join(t) + "\n" for t in self.tokens)
        if self._bm25 is not None and self.tokens:
            self._bm25.save(str(d), show_progress=False)

    @classmethod
    def load(cls, d: Path, tokenizer: str, k1: float, b: float, n: int) -> BM25:
        import bm25s

        self = cls(tokenizer, k1, b)
        path = d / TOKENS_FILE
        if not path.is_file():
            raise DataError(
                f"{d}: BM25 part is missing {TOKENS_FILE}", hint="rebuild with `medgo index build`"
            )
        with path.open(encoding="utf-8") as f:
            self.tokens = [line.split() for line in f]
        if len(self.tokens) != n:
            raise DataError(f"{d}: {len(self.tokens)} token rows for {n} passages", hint="rebuild the index")
        if n:
            logging.getLogger("bm25s").setLevel(logging.WARNING)
            # mmap: the score matrix stays on disk until pages are touched (cheap server start).
            self._bm25 = bm25s.BM25.load(str(d), mmap=True, show_progress=False, verbosity=0)
        return self
