"""Dense retrieval with a sentence-transformers model from a local path (never downloaded)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from medgo.errors import DataError, MedgoError
from medgo.retrieval.bm25 import top_k

EMB_FILE = "embeddings.npy"


def load_model(path: str) -> Any:
    if not Path(path).is_dir():
        raise MedgoError(
            f"dense model not found: {path}",
            hint="pass --model with a local sentence-transformers directory (nothing is downloaded)",
        )
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise MedgoError(
            "dense retrieval needs sentence-transformers",
            hint="pip install sentence-transformers (keep the installed torch)",
        ) from None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return SentenceTransformer(path, device="cpu", local_files_only=True)


class Dense:
    def __init__(self, model_path: str, batch_size: int = 32) -> None:
        self.model_path = str(model_path)
        self.batch_size = batch_size
        self._model: Any = None
        self.emb = np.zeros((0, 0), dtype=np.float32)

    def __len__(self) -> int:
        return int(self.emb.shape[0])

    @property
    def model(self) -> Any:
        if self._model is None:  # lazy: an index loaded only for BM25 never pays for the model
            self._model = load_model(self.model_path)
        return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        e = self.model.encode(
            texts,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(e, dtype=np.float32).reshape(len(texts), -1)

    def add(self, contents: list[str]) -> None:
        if not contents:
            return
        new = self.encode(contents)
        self.emb = new if len(self) == 0 else np.concatenate([np.asarray(self.emb), new])

    def search(self, query: str, depth: int) -> list[tuple[int, float]]:
        if not query.strip() or len(self) == 0:
            return []
        scores = np.asarray(self.emb) @ self.encode([query])[0]  # cosine: both sides are unit vectors
        return top_k(scores, depth, positive_only=False)

    def save(self, d: Path) -> None:
        d.mkdir(parents=True, exist_ok=True)
        np.save(d / EMB_FILE, np.ascontiguousarray(self.emb, dtype=np.float32))

    @classmethod
    def load(cls, d: Path, model_path: str, n: int) -> Dense:
        self = cls(model_path)
        path = d / EMB_FILE
        if not path.is_file():
            raise DataError(f"{d}: dense part is missing {EMB_FILE}", hint="rebuild with `medgo index build`")
        self.emb = np.load(path, mmap_mode="r")
        if len(self) != n:
            raise DataError(f"{path}: {len(self)} embeddings for {n} passages", hint="rebuild the index")
        return self
