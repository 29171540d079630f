"""What every route shares: settings, engine, keys, limits, metrics, audit; and the per-request caller."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from fastapi import Request

from medgo.inference.base import GenerationParams, Prompt
from medgo.inference.streams import QueueFull, RequestStream, ServingEngine
from medgo.serve.audit import AuditLog
from medgo.serve.errors import APIError
from medgo.serve.metrics import Metrics
from medgo.serve.security import KeyRing, RateLimiter
from medgo.serve.settings import ServeSettings


@dataclass
class Caller:
    key_id: str
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    t0: float = field(default_factory=time.monotonic)

    def elapsed(self) -> float:
        return time.monotonic() - self.t0


class ServerState:
    def __init__(self, settings: ServeSettings, engine: ServingEngine, model_name: str) -> None:
        self.settings = settings
        self.engine = engine
        self.model_name = model_name
        self.keys = KeyRing(settings.key_ids())
        self.limiter = RateLimiter(settings.rate_limit_rpm, settings.rate_burst)
        self.metrics = Metrics(engine.queue_depth)
        self.audit = AuditLog(settings.audit_log, settings.audit_text, deid_tagger=settings.audit_deid_tagger,
                              deid_terms=settings.audit_deid_terms)
        self.retriever = None
        if settings.index_dir is not None:
            from medgo.serve.rag import Retriever

            self.retriever = Retriever(settings.index_dir, settings.rag_top_k, settings.rag_default)
        if hasattr(engine, "on_batch"):
            engine.on_batch = self.metrics.batch.observe

    @property
    def supports_constraints(self) -> bool:
        """Whether the engine decodes under a grammar (response_format, forced tool calls, assess)."""
        return bool(getattr(self.engine, "supports_constraints", False))

    def tokenize(self, prompt: Prompt) -> list[int]:
        return self.check_ids(self.engine.encode(self.engine.render(prompt)))

    def detokenize(self, ids: list[int]) -> str:
        decode = getattr(self.engine, "decode", None)
        if decode is None:
            raise APIError(400, f"the {self.engine.name} engine takes text prompts only", param="prompt")
        return decode(ids)

    def check_ids(self, ids: list[int]) -> list[int]:
        if not ids:
            raise APIError(400, "the prompt is empty", param="prompt")
        limit = min(self.settings.max_prompt_tokens, self.engine.max_context - 1)
        if len(ids) > limit:
            raise APIError(
                400,
                f"prompt is {len(ids)} tokens; this server accepts at most {limit}",
                code="context_length_exceeded",
                param="messages",
            )
        return ids

    def max_new_tokens(self, asked: int | None, prompt_len: int, default: int = 256) -> int:
        room = self.engine.max_context - prompt_len
        cap = min(self.settings.max_tokens_cap, room)
        if asked is None:
            return max(1, min(default, cap))
        if asked > cap:
            raise APIError(
                400,
                f"max_tokens={asked} is more than this server allows here ({cap}: limit "
                f"{self.settings.max_tokens_cap}, context {self.engine.max_context}, prompt {prompt_len})",
                code="max_tokens_too_large",
                param="max_tokens",
            )
        return asked

    def submit(
        self, prompt_ids: list[int], params: GenerationParams, n: int, group: str
    ) -> list[RequestStream]:
        streams: list[RequestStream] = []
        try:
            for i in range(n):
                streams.append(self.engine.submit(prompt_ids, params, group, i))
        except QueueFull as e:
            for s in streams:
                s.cancel()
            raise APIError(
                503,
                f"server busy: {e}; retry shortly",
                "server_busy",
                code="queue_full",
                headers={"Retry-After": "1"},
            ) from None
        return streams


def state_of(request: Request) -> ServerState:
    return request.app.state.medgo


async def authorize(request: Request) -> Caller:
    """Dependency of every protected route: bearer key (401), then the key's rate limit (429)."""
    st = state_of(request)
    client = request.client.host if request.client else "unknown"
    caller = Caller(st.keys.identify(request.headers.get("authorization"), client))
    try:
        st.limiter.check(caller.key_id)
    except APIError as e:
        st.metrics.requests.labels(request.url.path, "429").inc()
        st.audit.write(
            key_id=caller.key_id,
            route=request.url.path,
            status=429,
            latency_s=0.0,
            request_id=caller.request_id,
        )
        raise e
    return caller
