"""The FastAPI app: OpenAI routes, clinical assess, web page, health and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from medgo.inference.streams import ServingEngine
from medgo.serve import routes_clinical, routes_openai
from medgo.serve.errors import install_error_handlers
from medgo.serve.security import BodyLimit
from medgo.serve.settings import ServeSettings, model_id
from medgo.serve.state import Caller, ServerState, authorize, state_of

STATIC = resources.files("medgo.serve").joinpath("static")


def create_app(
    settings: ServeSettings, *, model_dir: Path | None = None, engine: ServingEngine | None = None
) -> FastAPI:
    """An app for `engine`, or for a transformers engine loaded from `model_dir`."""
    if engine is None:
        if model_dir is None:
            raise ValueError("create_app needs model_dir or engine")
        from medgo.inference.registry import load_serving_engine

        engine = load_serving_engine(
            "hf",
            model_dir,
            max_batch=settings.max_batch_size,
            batch_wait_ms=settings.batch_wait_ms,
            max_queue=settings.max_queue,
            batching=settings.batching,
        )
    if settings.model_name:
        name = settings.model_name
    else:
        name = model_id(model_dir) if model_dir else engine.name
    st = ServerState(settings, engine, name)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine.start()
        yield
        # uvicorn has already let in-flight responses finish; then the worker drains and stops.
        engine.shutdown(settings.graceful_timeout_s)

    app = FastAPI(title="medgo", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.medgo = st
    install_error_handlers(app)
    app.include_router(routes_openai.router)
    app.include_router(routes_clinical.router)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

    @app.get("/health")
    async def health(request: Request):
        s = state_of(request)
        ok = getattr(s.engine, "healthy", lambda: True)()  # a supervised engine process may have died
        body = {
            "status": "ok" if ok else "engine_down",
            "model": s.model_name,
            "engine": s.engine.name,
            "queue_depth": s.engine.queue_depth(),
            "auth": s.keys.required,
        }
        return body if ok else JSONResponse(body, 503)

    @app.get("/metrics")
    async def metrics(request: Request, caller: Caller = Depends(authorize)) -> Response:
        s = state_of(request)
        return Response(s.metrics.render(), media_type=s.metrics.content_type)

    @app.get("/", response_class=HTMLResponse)
    async def index() -> HTMLResponse:
        return HTMLResponse(STATIC.joinpath("index.html").read_text("utf-8"))

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    return app
