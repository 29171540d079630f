"""Serving engines: transformers with dynamic batching, llama.cpp for GGUF on CPU, and a vLLM launcher."""

from __future__ import annotations

from pathlib import Path

from medgo.errors import MedgoError
from medgo.serve.engines.base import Finished, QueueFull, RequestStream, ServingEngine

__all__ = ["Finished", "QueueFull", "RequestStream", "ServingEngine", "load_engine"]


def load_engine(
    kind: str,
    path: Path,
    *,
    dtype: str = "float32",
    threads: int | None = None,
    batching: str = "continuous",
    **queue_kw,
) -> ServingEngine:
    """kind: hf | llamacpp (vllm is launched as its own server, see engines.vllm). batching (hf):
    continuous (rows join and leave the running batch every step; the default where the model's cache
    allows it) or static (one `generate` call per batch)."""
    if kind == "hf":
        from medgo.eval.backends.hf import HFEngine
        from medgo.serve.engines.hf_batching import HFBatchingEngine
        from medgo.serve.engines.hf_continuous import HFContinuousEngine

        if batching not in ("continuous", "static"):
            raise MedgoError(f"unknown batching {batching!r}", hint="use --batching continuous or static")
        hf = HFEngine.from_path(path, dtype=dtype)
        if batching == "continuous" and HFContinuousEngine.supports(hf.model):
            return HFContinuousEngine(hf, threads=threads, **queue_kw)
        return HFBatchingEngine(hf, threads=threads, **queue_kw)
    if kind == "llamacpp":
        from medgo.serve.engines.llamacpp import LlamaCppEngine

        return LlamaCppEngine.from_path(path, threads=threads, **queue_kw)
    raise MedgoError(f"unknown engine {kind!r}", hint="use --engine hf, llamacpp or vllm")
