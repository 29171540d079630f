"""Exact dedup (hash of a normalised text) and near dedup (MinHash LSH over character n-gram shingles,
which suit Chinese: no word segmentation needed). The first occurrence is kept; later copies go to the
rejects file naming the document they duplicate.

Two index back-ends: `memory` (datasketch MinHashLSH, fastest, RAM grows ~1.5 KB per document) and `disk`
(SQLite band tables with a capped page cache, so RAM stays flat as the corpus grows)."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import tempfile
import unicodedata
from pathlib import Path

import numpy as np
import xxhash
from datasketch import LeanMinHash, MinHash, MinHashLSH
from datasketch.lsh import _optimal_param

from medgo.config.data_prep import DedupConfig

_STRIP = re.compile(r"[\s\W_]+", re.U)  # whitespace and punctuation do not make a document new


def dedup_key(text: str) -> str:
    return _STRIP.sub("", unicodedata.normalize("NFKC", text).lower())


def exact_hash(text: str) -> bytes:
    return hashlib.blake2b(dedup_key(text).encode("utf-8"), digest_size=16).digest()


def shingles(key: str, n: int) -> list[bytes]:
    if len(key) <= n:
        return [key.encode("utf-8")] if key else []
    return [key[i : i + n].encode("utf-8") for i in range(len(key) - n + 1)]


def _xxh32(b: bytes) -> int:
    return xxhash.xxh32_intdigest(b)


class Signer:
    """MinHash signatures with permutations drawn once (datasketch redraws them per MinHash otherwise)."""

    def __init__(self, num_perm: int, ngram: int, seed: int) -> None:
        self.num_perm, self.ngram, self.seed = num_perm, ngram, seed
        self.perms = MinHash(num_perm=num_perm, seed=seed, hashfunc=_xxh32).permutations

    def sign(self, text: str) -> LeanMinHash:
        m = MinHash(num_perm=self.num_perm, seed=self.seed, hashfunc=_xxh32, permutations=self.perms, scheme="affine32")
        sh = shingles(dedup_key(text), self.ngram)
        if sh:
            m.update_batch(sh)
        return LeanMinHash(m)


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.count_nonzero(a == b)) / len(a)


class NearDupIndex:
    """Query-then-insert LSH index; `check` returns the key of an earlier near-duplicate or None."""

    def __init__(self, cfg: DedupConfig, workdir: str | Path | None = None) -> None:
        self.cfg = cfg
        self.bands, self.rows = _optimal_param(cfg.threshold, cfg.num_perm, 0.5, 0.5)
        self.signer = Signer(cfg.num_perm, cfg.ngram, cfg.seed)
        self._sigs: dict[str, np.ndarray] = {}
        if cfg.backend == "memory":
            self.lsh = MinHashLSH(threshold=cfg.threshold, num_perm=cfg.num_perm, params=(self.bands, self.rows))
        else:
            if workdir is not None:
                Path(workdir).mkdir(parents=True, exist_ok=True)
            self._tmp = tempfile.TemporaryDirectory(dir=workdir, prefix="medgo-dedup-")
            self.db = sqlite3.connect(Path(self._tmp.name) / "lsh.sqlite")
            self.db.executescript(
                "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-32768;"  # 32 MB page cache
                "CREATE TABLE bands(band INTEGER, h INTEGER, doc INTEGER);"
                "CREATE INDEX bands_i ON bands(band, h);"
                "CREATE TABLE docs(doc INTEGER PRIMARY KEY, key TEXT, sig BLOB);"
            )
            self._n = 0

    def _band_hashes(self, hv: np.ndarray) -> list[int]:
        r = self.rows
        return [xxhash.xxh64_intdigest(hv[i * r : (i + 1) * r].tobytes()) - (1 << 63) for i in range(self.bands)]

    def check(self, key: str, text: str) -> tuple[str, float] | None:
        sig = self.signer.sign(text)
        hv = sig.hashvalues.astype(np.uint32)  # affine32 values fit 32 bits: half the RAM of uint64
        if self.cfg.backend == "memory":
            for other in self.lsh.query(sig):
                j = _jaccard(hv, self._sigs[other])
                if j >= self.cfg.threshold:
                    return other, j
            self.lsh.insert(key, sig, check_duplication=False)
            self._sigs[key] = hv
            return None
        bh = self._band_hashes(hv)
        seen: set[int] = set()
        for band, h in enumerate(bh):
            for (doc,) in self.db.execute("SELECT doc FROM bands WHERE band=? AND h=?", (band, h)):
                if doc in seen:
                    continue
                seen.add(doc)
                okey, blob = self.db.execute("SELECT key, sig FROM docs WHERE doc=?", (doc,)).fetchone()
                j = _jaccard(hv, np.frombuffer(blob, dtype=hv.dtype))
                if j >= self.cfg.threshold:
                    return okey, j
        self._n += 1
        self.db.execute("INSERT INTO docs VALUES (?,?,?)", (self._n, key, hv.tobytes()))
        self.db.executemany("INSERT INTO bands VALUES (?,?,?)", [(b, h, self._n) for b, h in enumerate(bh)])
        return None

    def close(self) -> None:
        if self.cfg.backend == "disk":
            self.db.close()
            self._tmp.cleanup()


class ExactIndex:
    def __init__(self) -> None:
        self._seen: dict[bytes, str] = {}

    def check(self, key: str, text: str) -> str | None:
        h = exact_hash(text)
        if h in self._seen:
            return self._seen[h]
        self._seen[h] = key
        return None


class Deduper:
    """Streaming: call `check(where, text)` per document in order; returns a duplicate reason or None."""

    def __init__(self, cfg: DedupConfig, workdir: str | Path | None = None) -> None:
        self.cfg = cfg
        self.exact = ExactIndex() if cfg.exact else None
        self.near = NearDupIndex(cfg, workdir) if cfg.near else None
        self.n_exact = self.n_near = 0

    def check(self, where: str, text: str) -> str | None:
        if self.exact is not None:
            other = self.exact.check(where, text)
            if other is not None:
                self.n_exact += 1
                return f"exact duplicate: same text as {other}"
        if self.near is not None:
            hit = self.near.check(where, text)
            if hit is not None:
                self.n_near += 1
                return f"near duplicate: jaccard~{hit[1]:.2f} with {hit[0]}"
        return None

    def close(self) -> None:
        if self.near is not None:
            self.near.close()
