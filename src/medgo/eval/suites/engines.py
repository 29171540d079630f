"""Build an Engine from CLI-style arguments: a run folder or model folder (hf, vllm) or an HTTP endpoint."""

from __future__ import annotations

from pathlib import Path

from medgo.errors import ConfigError
from medgo.eval.backends.base import Engine


def resolve_model(model: str | Path) -> tuple[Path, Path]:
    """(model folder, tokenizer folder): a run folder resolves to its newest trained model and its tokenizer."""
    from medgo.run_dir import RunDir

    p = Path(model)
    if not p.exists():
        raise ConfigError(f"model not found: {p}", hint="pass a run folder (runs/NAME) or a model folder")
    rd = RunDir(p)
    latest = rd.latest_model()
    if latest is not None:
        mdir = latest[1]
        tok = mdir if (mdir / "tokenizer_config.json").is_file() else rd.tokenizer_dir
        return mdir, tok
    if not (p / "config.json").is_file():
        raise ConfigError(f"{p} is neither a finished run folder nor a model folder", hint="no config.json there")
    return p, p


def load_engine(backend: str, model: str | None, *, base_url: str | None = None, api_key: str | None = None,
                batch_size: int = 16, concurrency: int = 8, dtype: str = "float32") -> Engine:
    if backend == "openai":
        from medgo.eval.backends.openai_api import OpenAIEngine

        return OpenAIEngine(base_url or "", model=model, api_key=api_key, concurrency=concurrency)
    if not model:
        raise ConfigError(f"the {backend} backend needs --model", hint="a run folder or a model folder")
    mdir, tdir = resolve_model(model)
    if backend == "vllm":
        from medgo.eval.backends.vllm_engine import VLLMEngine

        return VLLMEngine(mdir)
    if backend == "hf":
        from medgo.eval.backends.hf import HFEngine
        from medgo.model.factory import load_model
        from medgo.model.tokenizer import load_tokenizer

        return HFEngine(load_model(mdir, dtype), load_tokenizer(tdir), batch_size=batch_size)
    raise ConfigError(f"unknown backend {backend!r}", hint="hf, vllm or openai")
