"""vLLM on GPUs behind medgo's front: medgo does not re-implement vLLM's server; it builds the `vllm serve`
command (the model's chat template, tensor parallelism, limits) and starts it as a supervised engine
process on a private loopback port with a key only the gateway knows (`vllm_process`), so auth, limits, the
audit log, RAG and the clinical endpoint stay medgo's. `launch_vllm` (hand the process over) remains for
anyone who wants vLLM's own server alone."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from medgo.errors import MedgoError
from medgo.serve.settings import ServeSettings

if TYPE_CHECKING:
    from medgo.inference.upstream import EngineProcess


def chat_template_file(model_dir: Path) -> Path | None:
    """The tokenizer's chat template as a file (vLLM takes --chat-template PATH)."""
    f = model_dir / "chat_template.jinja"
    if f.is_file():
        return f
    cfg = model_dir / "tokenizer_config.json"
    if cfg.is_file():
        import json

        tpl = json.loads(cfg.read_text("utf-8")).get("chat_template")
        if isinstance(tpl, str):
            f.write_text(tpl, encoding="utf-8")
            return f
    return None


def vllm_command(
    model_dir: Path,
    s: ServeSettings,
    *,
    name: str,
    gpu_memory_utilization: float = 0.9,
    max_model_len: int | None = None,
    tensor_parallel: int = 1,
) -> list[str]:
    cmd = [
        "vllm",
        "serve",
        str(model_dir),
        "--host",
        s.host,
        "--port",
        str(s.port),
        "--served-model-name",
        name,
        "--gpu-memory-utilization",
        str(gpu_memory_utilization),
        "--tensor-parallel-size",
        str(tensor_parallel),
        "--max-num-seqs",
        str(max(s.max_batch_size, 1) * 16),
    ]
    tpl = chat_template_file(model_dir)
    if tpl is not None:
        cmd += ["--chat-template", str(tpl)]
    if max_model_len:
        cmd += ["--max-model-len", str(max_model_len)]
    if s.api_keys:
        # vLLM checks one key; medgo passes the first (put several behind nginx if you need more).
        cmd += ["--api-key", s.api_keys[0]]
    for origin in s.cors_origins:
        cmd += ["--allowed-origins", origin]
    return cmd


def launch_vllm(model_dir: Path, s: ServeSettings, *, name: str, **kw) -> int:
    if importlib.util.find_spec("vllm") is None or shutil.which("vllm") is None:
        raise MedgoError(
            "--engine vllm needs vLLM, which is not installed here",
            hint="on a GPU machine: pip install vllm; on CPU use --engine hf or a GGUF file",
        )
    return subprocess.call(vllm_command(model_dir, s, name=name, **kw))


def vllm_process(model_dir: Path, *, name: str, tensor_parallel: int = 1, max_batch: int = 16,
                 gpu_memory_utilization: float = 0.9, max_model_len: int | None = None,
                 extra: list[str] | None = None, log_file: Path | None = None) -> EngineProcess:
    from medgo.inference.upstream import EngineProcess, free_port, private_key

    port, key = free_port(), private_key()
    s = ServeSettings(host="127.0.0.1", port=port, api_keys=[key], max_batch_size=max_batch)
    argv = vllm_command(model_dir, s, name=name, gpu_memory_utilization=gpu_memory_utilization,
                        max_model_len=max_model_len, tensor_parallel=tensor_parallel) + list(extra or [])
    return EngineProcess(argv, f"http://127.0.0.1:{port}", key, log_file=log_file)
