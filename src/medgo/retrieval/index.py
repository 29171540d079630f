"""A persistent passage index: BM25, dense or hybrid (RRF), with incremental add and a rerank hook.

On-disk layout of DIR: meta.json, passages.jsonl, bm25/ (tokens + bm25s matrix, memory-mapped on load),
dense/embeddings.npy (memory-mapped on load). Saving writes a sibling temp dir and swaps it in, so a
crash mid-save never leaves a half-written index where a server would load it.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from medgo.data.jsonl import read_jsonl, write_jsonl
from medgo.errors import DataError, MedgoError
from medgo.retrieval.bm25 import BM25
from medgo.retrieval.corpus import Passage
from medgo.retrieval.dense import Dense
from medgo.retrieval.fusion import rrf
from medgo.retrieval.rerank import Scorer, rerank
from medgo.retrieval.tokenize import TOKENIZERS

METHODS = ("bm25", "dense", "hybrid")
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Hit:
    id: str
    title: str
    text: str
    score: float


class Index:
    def __init__(
        self,
        method: str = "bm25",
        tokenizer: str = "bigram",
        model: str | None = None,
        k1: float = 1.5,
        b: float = 0.75,
        rrf_k: float = 60.0,
    ) -> None:
        if method not in METHODS:
            raise MedgoError(f"unknown retrieval method {method!r}", hint=f"use one of: {', '.join(METHODS)}")
        if tokenizer not in TOKENIZERS:
            raise MedgoError(f"unknown tokenizer {tokenizer!r}", hint=f"use one of: {', '.join(TOKENIZERS)}")
        if method in ("dense", "hybrid") and not model:
            raise MedgoError(
                f"method {method!r} needs a dense model", hint="pass --model PATH (a local directory)"
            )
        self.method, self.tokenizer, self.rrf_k = method, tokenizer, rrf_k
        self.model = str(Path(model).resolve()) if model else None
        self.passages: list[Passage] = []
        self._pos: dict[str, int] = {}
        self.bm25 = BM25(tokenizer, k1, b) if method in ("bm25", "hybrid") else None
        self.dense = Dense(self.model) if method in ("dense", "hybrid") and self.model else None

    def __len__(self) -> int:
        return len(self.passages)

    @classmethod
    def build(cls, passages: Iterable[Passage], **kw: object) -> Index:
        index = cls(**kw)  # type: ignore[arg-type]
        index.add(passages)
        return index

    def add(self, passages: Iterable[Passage]) -> int:
        """Append passages (ids must be new); returns how many were added."""
        new = list(passages)
        seen = set(self._pos)
        for p in new:  # check everything before mutating, so a refused add leaves the index as it was
            if p.id in seen:
                raise DataError(f"passage id {p.id!r} is already in the index", hint="ids must be unique")
            seen.add(p.id)
        for p in new:
            self._pos[p.id] = len(self.passages)
            self.passages.append(p)
        contents = [p.content for p in new]
        if self.bm25 is not None:
            self.bm25.add(contents)
        if self.dense is not None:
            self.dense.add(contents)
        return len(new)

    def _ranked(self, method: str, query: str, depth: int) -> list[tuple[int, float]]:
        if method == "bm25":
            if self.bm25 is None:
                raise MedgoError("this index has no BM25 part", hint="search with --method dense")
            return self.bm25.search(query, depth)
        if method == "dense":
            if self.dense is None:
                raise MedgoError("this index has no dense part", hint="rebuild with --method dense or hybrid")
            return self.dense.search(query, depth)
        if method == "hybrid":
            runs = [[i for i, _ in self._ranked(m, query, depth)] for m in ("bm25", "dense")]
            return rrf(runs, k=self.rrf_k)[:depth]
        raise MedgoError(f"unknown retrieval method {method!r}", hint=f"use one of: {', '.join(METHODS)}")

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        method: str | None = None,
        depth: int = 100,
        reranker: Scorer | None = None,
        rerank_depth: int = 20,
    ) -> list[Hit]:
        """Top-k hits best first. Hybrid fuses the top `depth` of each part; a reranker re-orders the top
        `max(k, rerank_depth)` first-stage hits. An empty or punctuation-only query returns []."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        first = max(k, rerank_depth) if reranker is not None else k
        ranked = self._ranked(method or self.method, query, max(depth, first))[:first]
        hits = [Hit(self.passages[i].id, self.passages[i].title, self.passages[i].text, s) for i, s in ranked]
        if reranker is not None:
            hits = rerank(query, hits, reranker)
        return hits[:k]

    def meta(self) -> dict[str, object]:
        return {
            "format": "medgo-index",
            "version": FORMAT_VERSION,
            "method": self.method,
            "tokenizer": self.tokenizer,
            "model": self.model,
            "rrf_k": self.rrf_k,
            "n": len(self),
            "k1": self.bm25.k1 if self.bm25 else None,
            "b": self.bm25.b if self.bm25 else None,
        }

    def save(self, out: str | Path) -> Path:
        out = Path(out)
        if out.exists() and not (out / "meta.json").is_file() and any(out.iterdir()):
            raise DataError(
                f"{out} exists and is not a medgo index", hint="choose an empty or new --out directory"
            )
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            write_jsonl(
                tmp / "passages.jsonl",
                ({"id": p.id, "title": p.title, "text": p.text} for p in self.passages),
            )
            if self.bm25 is not None:
                self.bm25.save(tmp / "bm25")
            if self.dense is not None:
                self.dense.save(tmp / "dense")
            (tmp / "meta.json").write_text(
                json.dumps(self.meta(), ensure_ascii=False, indent=1), encoding="utf-8"
            )
            old = out.with_name(out.name + ".old")
            if out.exists():
                out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return out

    @classmethod
    def load(cls, d: str | Path, model: str | None = None) -> Index:
        """Open a saved index; `model` overrides the dense model path recorded at build time."""
        d = Path(d)
        meta_path = d / "meta.json"
        if not meta_path.is_file():
            raise DataError(
                f"{d} is not a medgo index (no meta.json)", hint="build one with `medgo index build`"
            )
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != "medgo-index" or meta.get("version") != FORMAT_VERSION:
            raise DataError(f"{meta_path}: unsupported index format/version", hint="rebuild the index")
        index = cls(
            meta["method"],
            meta["tokenizer"],
            model or meta.get("model"),
            rrf_k=meta["rrf_k"],
            **({"k1": meta["k1"], "b": meta["b"]} if meta.get("k1") is not None else {}),
        )
        for row in read_jsonl(d / "passages.jsonl"):
            index._pos[row["id"]] = len(index.passages)
            index.passages.append(Passage(row["id"], row["text"], row.get("title", "")))
        n = len(index.passages)
        if n != meta["n"]:
            raise DataError(f"{d}: {n} passages but meta.json says {meta['n']}", hint="rebuild the index")
        if index.bm25 is not None:
            index.bm25 = BM25.load(d / "bm25", index.tokenizer, index.bm25.k1, index.bm25.b, n)
        if index.dense is not None:
            index.dense = Dense.load(d / "dense", index.dense.model_path, n)
        return index


def build_index(paths: Sequence[str | Path], out: str | Path, *, add: bool = False, **kw: object) -> Index:
    """Read passage files and write an index to `out`; with add=True, append to the index already there."""
    from medgo.retrieval.corpus import read_passages

    passages = read_passages(paths)
    if not passages:
        raise DataError(
            f"no passages in {', '.join(map(str, paths))}", hint="each file needs at least one passage"
        )
    index = Index.load(out) if add else Index(**kw)  # type: ignore[arg-type]
    index.add(passages)
    index.save(out)
    return index
