"""Serving engines: transformers with dynamic batching, llama.cpp for GGUF on CPU, and a vLLM launcher."""

from __future__ import annotations

from pathlib import Path

from medgo.errors import MedgoError
from medgo.serve.engines.base import Finished, QueueFull, RequestStream, ServingEngine

__all__ = ["Finished", "QueueFull", "RequestStream", "ServingEngine", "load_engine"]


def load_engine(
    kind: str, path: Path, *, dtype: str = "float32", threads: int | None = None, **queue_kw
) -> ServingEngine:
    """kind: hf | llamacpp (vllm is launched as its own server, see engines.vllm)."""
    if kind == "hf":
        from medgo.serve.engines.hf_batching import HFBatchingEngine

        return HFBatchingEngine.from_path(path, dtype=dtype, threads=threads, **queue_kw)
    if kind == "llamacpp":
        from medgo.serve.engines.llamacpp import LlamaCppEngine

        return LlamaCppEngine.from_path(path, threads=threads, **queue_kw)
    raise MedgoError(f"unknown engine {kind!r}", hint="use --engine hf, llamacpp or vllm")
