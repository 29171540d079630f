"""Start a server: pick the engine from what the target is (model folder, GGUF file) or --engine."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from medgo.errors import MedgoError
from medgo.log import get_logger
from medgo.serve.settings import ServeSettings, model_id

log = get_logger(__name__)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def gguf_tokenizer_dir(gguf: Path) -> Path | None:
    """The tokenizer folder for a GGUF file `medgo export` wrote (RUN/export/X.gguf → the run's model)."""
    from medgo.inference.registry import resolve_model

    for cand in (gguf.parent.parent, gguf.parent):
        try:
            return resolve_model(cand).tokenizer_dir
        except Exception:  # noqa: BLE001 - not a run or model folder
            continue
    return None


def build_engine(target: Path, settings: ServeSettings, *, engine: str = "auto", threads: int | None = None,
                 dtype: str = "float32", upstream: str | None = None, upstream_flavor: str | None = None,
                 upstream_key: str | None = None, upstream_model: str | None = None,
                 tokenizer: Path | None = None, tensor_parallel: int = 1, name: str = "model",
                 engine_log: Path | None = None):
    """The engine behind the front: in-process (hf, llamacpp) or an upstream server (a URL, or vLLM /
    SGLang / llama.cpp's server started and supervised here)."""
    from medgo.inference.registry import load_serving_engine

    queue_kw = dict(max_batch=settings.max_batch_size, batch_wait_ms=settings.batch_wait_ms,
                    max_queue=settings.max_queue)
    if upstream or engine in ("vllm", "llamacpp-server", "sglang"):
        from medgo.inference import upstream as up

        tok_dir = tokenizer
        if tok_dir is None:
            tok_dir = gguf_tokenizer_dir(target) if target.suffix == ".gguf" else target
        if tok_dir is None:
            raise MedgoError(f"no tokenizer found for {target}", hint="pass --tokenizer RUN_OR_MODEL_DIR")
        process, flavor = None, upstream_flavor or "openai"
        if not upstream:
            if engine == "vllm":
                import importlib.util
                import shutil

                if importlib.util.find_spec("vllm") is None or shutil.which("vllm") is None:
                    raise MedgoError("--engine vllm needs vLLM, which is not installed here",
                                     hint="on a GPU machine: pip install vllm; on CPU use --engine hf or a GGUF")
                from medgo.serve.vllm_launch import vllm_process

                process = vllm_process(target, name=name, tensor_parallel=tensor_parallel,
                                          max_batch=settings.max_batch_size, log_file=engine_log)
                flavor = "vllm"
            elif engine == "sglang":
                import importlib.util

                if importlib.util.find_spec("sglang") is None:
                    raise MedgoError("--engine sglang needs SGLang, which is not installed here",
                                     hint="on a GPU machine: pip install 'sglang[all]'")
                process = up.sglang_process(target, tensor_parallel=tensor_parallel, log_file=engine_log)
                flavor = "sglang"
            else:
                import importlib.util

                if importlib.util.find_spec("llama_cpp") is None:
                    raise MedgoError("--engine llamacpp-server needs llama-cpp-python[server]",
                                     hint="pip install 'llama-cpp-python[server]'")
                process = up.llamacpp_process(target, threads=threads, log_file=engine_log)
                flavor = "llamacpp"
        return load_serving_engine("upstream", tok_dir, base_url=upstream, flavor=flavor, api_key=upstream_key,
                                   model=upstream_model, process=process, max_queue=settings.max_queue)
    kind = engine if engine != "auto" else ("llamacpp" if target.suffix == ".gguf" else "hf")
    return load_serving_engine(kind, target, dtype=dtype, threads=threads, batching=settings.batching, **queue_kw)


def run_server(
    target: Path,
    settings: ServeSettings,
    *,
    engine: str = "auto",
    threads: int | None = None,
    dtype: str = "float32",
    **upstream_kw,
) -> None:
    """Serve until SIGINT/SIGTERM; in-flight requests and streams finish before the process exits.
    upstream_kw: upstream, upstream_flavor, upstream_key, upstream_model, tokenizer, tensor_parallel,
    engine_log (see build_engine)."""
    if not settings.api_keys and not _is_loopback(settings.host):
        raise MedgoError(
            f"refusing to listen on {settings.host} without an API key",
            hint="pass --api-key KEY (or MEDGO_API_KEYS), or bind to 127.0.0.1 behind a proxy",
        )
    name = settings.model_name or model_id(target)
    import uvicorn

    from medgo.serve.app import create_app

    eng = build_engine(target, settings, engine=engine, threads=threads, dtype=dtype, name=name, **upstream_kw)
    app = create_app(settings.model_copy(update={"model_name": name}), engine=eng)
    log.info("serving %s (%s engine) on http://%s:%d", name, eng.name, settings.host, settings.port)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        timeout_graceful_shutdown=int(settings.graceful_timeout_s) or None,
        server_header=False,
    )
