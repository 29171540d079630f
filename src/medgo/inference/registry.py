"""One registry from engine name to factory, and one `resolve_model` for every command.

Batch engines (`load_engine`) answer `generate` / `loglikelihood` for evaluation, chat and data tools;
serving engines (`load_serving_engine`) put a request queue with streaming in front of one for `medgo serve`.
Adding a backend = one factory and one entry in ENGINES (plus SERVING_ENGINES if it can serve in-process)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medgo.errors import ConfigError, MedgoError
from medgo.inference.base import Engine
from medgo.inference.streams import ServingEngine
from medgo.run_dir import RunDir


@dataclass(frozen=True)
class ModelRef:
    """A model folder and the folder its tokenizer is read from (a run's tokenizer stage, or the model's own)."""

    model_dir: Path
    tokenizer_dir: Path


def resolve_model(path: str | Path) -> ModelRef:
    """A model folder → itself; a run folder → its newest trained model (and the run's tokenizer when the
    model folder carries none)."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"model not found: {p}", hint="pass a run folder (runs/NAME) or a model folder")
    if (p / "config.json").is_file():
        return ModelRef(p, p)
    rd = RunDir(p)
    latest = rd.latest_model()
    if latest is None:
        raise MedgoError(
            f"{p} holds no trained model (no pretrain/sft/preference stage is complete)",
            hint="run `medgo run CONFIG` first, or pass a model folder (with config.json)",
        )
    mdir = latest[1]
    return ModelRef(mdir, mdir if (mdir / "tokenizer_config.json").is_file() else rd.tokenizer_dir)


def _hf(model: str | None, *, batch_size: int = 16, dtype: str = "float32", **_: Any) -> Engine:
    from medgo.inference.hf import HFEngine
    from medgo.model.factory import load_model
    from medgo.model.tokenizer import load_tokenizer

    ref = resolve_model(_need(model, "hf"))
    return HFEngine(load_model(ref.model_dir, dtype), load_tokenizer(ref.tokenizer_dir), batch_size=batch_size)


def _vllm(model: str | None, **_: Any) -> Engine:
    from medgo.inference.vllm_offline import VLLMEngine

    return VLLMEngine(resolve_model(_need(model, "vllm")).model_dir)


def _openai(model: str | None, *, base_url: str | None = None, api_key: str | None = None,
            concurrency: int = 8, **_: Any) -> Engine:
    from medgo.inference.openai_api import OpenAIEngine

    return OpenAIEngine(base_url or "", model=model, api_key=api_key, concurrency=concurrency)


ENGINES: dict[str, Callable[..., Engine]] = {"hf": _hf, "vllm": _vllm, "openai": _openai}


def _need(model: str | None, backend: str) -> str:
    if not model:
        raise ConfigError(f"the {backend} backend needs --model", hint="a run folder or a model folder")
    return model


def load_engine(backend: str, model: str | Path | None, **kw: Any) -> Engine:
    """A batch engine by name: hf (in-process transformers), vllm (offline vLLM), openai (an HTTP endpoint).
    Keywords: batch_size, dtype (hf); base_url, api_key, concurrency (openai)."""
    if backend not in ENGINES:
        raise ConfigError(f"unknown backend {backend!r}", hint=", ".join(ENGINES))
    return ENGINES[backend](str(model) if model is not None else None, **kw)


def _serve_hf(path: Path, *, dtype: str = "float32", threads: int | None = None,
              batching: str = "continuous", **queue_kw: Any) -> ServingEngine:
    from medgo.inference.hf import HFEngine
    from medgo.inference.hf_batching import HFBatchingEngine
    from medgo.inference.hf_continuous import HFContinuousEngine

    if batching not in ("continuous", "static"):
        raise MedgoError(f"unknown batching {batching!r}", hint="use --batching continuous or static")
    hf = HFEngine.from_path(path, dtype=dtype)
    if batching == "continuous" and HFContinuousEngine.supports(hf.model):
        return HFContinuousEngine(hf, threads=threads, **queue_kw)
    return HFBatchingEngine(hf, threads=threads, **queue_kw)


def _serve_llamacpp(path: Path, *, threads: int | None = None, dtype: str | None = None,
                    batching: str | None = None, **queue_kw: Any) -> ServingEngine:
    from medgo.inference.llamacpp import LlamaCppEngine

    return LlamaCppEngine.from_path(path, threads=threads, **queue_kw)


def _serve_upstream(path: Path, *, base_url: str | None = None, flavor: str = "openai", api_key: str | None = None,
                    model: str | None = None, process: Any = None, max_queue: int = 256, max_context: int | None = None,
                    **_: Any) -> ServingEngine:
    """An OpenAI-compatible engine server (`base_url`, or the one `process` starts); `path` is the folder
    whose tokenizer the gateway renders and counts with."""
    import json

    from medgo.inference.upstream import UpstreamEngine
    from medgo.model.tokenizer import load_tokenizer

    if process is not None:
        base_url, api_key = process.url, process.api_key
    if not base_url:
        raise ConfigError("the upstream engine needs a URL", hint="--upstream http://HOST:PORT")
    cfg = Path(path) / "config.json"
    if max_context is None:
        max_context = 4096
        if cfg.is_file():
            max_context = int(json.loads(cfg.read_text("utf-8")).get("max_position_embeddings") or 4096)
    return UpstreamEngine(base_url, load_tokenizer(path), model=model, api_key=api_key, flavor=flavor,
                          max_context=max_context, max_queue=max_queue, process=process)


SERVING_ENGINES: dict[str, Callable[..., ServingEngine]] = {
    "hf": _serve_hf, "llamacpp": _serve_llamacpp, "upstream": _serve_upstream,
}


def load_serving_engine(kind: str, path: Path, **kw: Any) -> ServingEngine:
    """kind: hf | llamacpp | upstream (an OpenAI-compatible server: base_url/flavor/api_key/model, or a
    supervised `process`; vLLM and llama.cpp's server run this way). hf keywords: dtype, threads, batching
    (continuous: rows join and leave the running batch every step, the default where the model's cache
    allows it; static: one `generate` call per batch); every kind: max_batch, batch_wait_ms, max_queue."""
    if kind not in SERVING_ENGINES:
        raise MedgoError(f"unknown engine {kind!r}", hint="use --engine hf, llamacpp, llamacpp-server or vllm")
    return SERVING_ENGINES[kind](path, **kw)
