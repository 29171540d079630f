"""Start a server: pick the engine from what the target is (model folder, GGUF file) or --engine."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from medgo.errors import MedgoError
from medgo.log import get_logger
from medgo.serve.settings import ServeSettings

log = get_logger(__name__)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_server(
    target: Path,
    settings: ServeSettings,
    *,
    engine: str = "auto",
    threads: int | None = None,
    dtype: str = "float32",
) -> None:
    """Serve until SIGINT/SIGTERM; in-flight requests and streams finish before the process exits."""
    if not settings.api_keys and not _is_loopback(settings.host):
        raise MedgoError(
            f"refusing to listen on {settings.host} without an API key",
            hint="pass --api-key KEY (or MEDGO_API_KEYS), or bind to 127.0.0.1 behind a proxy",
        )
    kind = engine if engine != "auto" else ("llamacpp" if target.suffix == ".gguf" else "hf")
    name = settings.model_name or (target.stem if target.suffix == ".gguf" else target.name)
    if kind == "vllm":
        from medgo.serve.vllm_launch import launch_vllm

        raise SystemExit(launch_vllm(target, settings, name=name))
    import uvicorn

    from medgo.inference.registry import load_serving_engine
    from medgo.serve.app import create_app

    eng = load_serving_engine(
        kind,
        target,
        dtype=dtype,
        threads=threads,
        max_batch=settings.max_batch_size,
        batch_wait_ms=settings.batch_wait_ms,
        max_queue=settings.max_queue,
        batching=settings.batching,
    )
    app = create_app(settings.model_copy(update={"model_name": name}), engine=eng)
    log.info("serving %s (%s engine) on http://%s:%d", name, kind, settings.host, settings.port)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        timeout_graceful_shutdown=int(settings.graceful_timeout_s) or None,
        server_header=False,
    )
