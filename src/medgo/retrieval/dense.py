"""Dense retrieval: passages encoded once (vectors stored with the index), a query encoded per search.

The encoder is named by a spec (`e5-small`, `sentence-transformers:NAME_OR_PATH`; see `encoders`). Vectors
are keyed by content hash: an `add` or a rebuild takes every unchanged passage's vector from the index
being replaced or from the vector cache, and encodes only the rest.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medgo.errors import DataError
from medgo.retrieval.bm25 import top_k
from medgo.retrieval.encoders import (
    Encoder,
    VectorCache,
    content_key,
    encode_cached,
    get_encoder,
    normalise_spec,
)

EMB_FILE = "embeddings.npy"


class Dense:
    def __init__(
        self,
        spec: str,
        *,
        cache: VectorCache | bool | None = True,
        batch_size: int = 32,
        progress: bool | None = None,
        workers: int = 1,
    ) -> None:
        self.spec = normalise_spec(spec)
        self.batch_size = batch_size
        self.workers = workers
        self.progress = progress
        self._encoder: Encoder | None = None
        self._cache_opt = cache
        self._cache: VectorCache | None = None
        self.emb = np.zeros((0, 0), dtype=np.float32)
        self.keys: list[str] = []  # content hash of each row (for reuse on rebuild)
        self.last_stats: dict[str, float] = {}

    def __len__(self) -> int:
        return int(self.emb.shape[0])

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:  # lazy: an index loaded only for BM25 never pays for the model
            self._encoder = get_encoder(self.spec)
        return self._encoder

    @property
    def cache(self) -> VectorCache | None:
        if self._cache is None and self._cache_opt is not False and self._cache_opt is not None:
            self._cache = (
                self._cache_opt
                if isinstance(self._cache_opt, VectorCache)
                else VectorCache(None, self.encoder.id)
            )
        return self._cache

    def encode_queries(self, queries: list[str]) -> np.ndarray:
        return self.encoder.encode(queries, "query")

    def add(self, contents: list[str], reuse: dict[str, np.ndarray] | None = None) -> None:
        if not contents:
            return
        new, self.last_stats = encode_cached(
            self.encoder,
            contents,
            "passage",
            cache=self.cache,
            extra=reuse,
            batch_size=self.batch_size,
            progress=self.progress,
            label="encoding passages",
            workers=self.workers,
        )
        self.emb = new if len(self) == 0 else np.concatenate([np.asarray(self.emb), new])
        self.keys.extend(content_key(c, "passage") for c in contents)

    def scores(self, query: str) -> np.ndarray:
        return np.asarray(self.emb) @ self.encode_queries([query])[0]  # cosine: unit vectors

    def search(self, query: str, depth: int) -> list[tuple[int, float]]:
        if not query.strip() or len(self) == 0:
            return []
        return top_k(self.scores(query), depth, positive_only=False)

    def vectors_by_key(self) -> dict[str, np.ndarray]:
        return dict(zip(self.keys, np.asarray(self.emb), strict=True))

    def save(self, d: Path) -> None:
        d.mkdir(parents=True, exist_ok=True)
        np.save(d / EMB_FILE, np.ascontiguousarray(self.emb, dtype=np.float32))

    @classmethod
    def load(cls, d: Path, spec: str, n: int, **kw: object) -> Dense:
        self = cls(spec, **kw)  # type: ignore[arg-type]
        path = d / EMB_FILE
        if not path.is_file():
            raise DataError(f"{d}: dense part is missing {EMB_FILE}", hint="rebuild with `medgo index build`")
        self.emb = np.load(path, mmap_mode="r")
        if len(self) != n:
            raise DataError(f"{path}: {len(self)} embeddings for {n} passages", hint="rebuild the index")
        return self
