"""Bearer API keys, per-key token-bucket rate limits, and a request body size limit."""

from __future__ import annotations

import hmac
import math
import threading
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medgo.serve.errors import APIError


class KeyRing:
    """Keys are compared in constant time; callers see only a short key id."""

    def __init__(self, key_ids: dict[str, str]) -> None:
        self._keys = key_ids

    @property
    def required(self) -> bool:
        return bool(self._keys)

    def identify(self, authorization: str | None, client: str) -> str:
        """The key id of a request, or APIError 401. Without configured keys every client is anonymous."""
        if not self._keys:
            return f"anon-{client}"
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise APIError(
                401,
                "missing API key: send 'Authorization: Bearer KEY'",
                "authentication_error",
                code="missing_api_key",
            )
        for key, kid in self._keys.items():
            if hmac.compare_digest(key.encode(), token.strip().encode()):
                return kid
        raise APIError(401, "invalid API key", "authentication_error", code="invalid_api_key")


class RateLimiter:
    """Token bucket per key: `burst` requests at once, refilled at `rpm` per minute."""

    def __init__(self, rpm: int, burst: int) -> None:
        self.rate = rpm / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key_id: str) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key_id, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1:
                self._buckets[key_id] = (tokens, now)
                retry = max(1, math.ceil((1 - tokens) / self.rate))
                raise APIError(
                    429,
                    f"rate limit exceeded for this API key; retry in {retry}s",
                    "rate_limit_error",
                    code="rate_limit_exceeded",
                    headers={"Retry-After": str(retry)},
                )
            self._buckets[key_id] = (tokens - 1, now)


class BodyLimit:
    """ASGI middleware: 413 for bodies over the limit, whether announced by Content-Length or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._reject(send)
            return
        # Bodies are small (the limit is), so read the whole body first and replay it to the app.
        chunks, seen, more = [], 0, True
        while more:
            msg = await receive()
            if msg["type"] != "http.request":
                await self.app(scope, _replay([msg], receive), send)
                return
            chunks.append(msg.get("body", b""))
            seen += len(chunks[-1])
            if seen > self.max_bytes:
                await self._reject(send)
                return
            more = msg.get("more_body", False)
        body = b"".join(chunks)
        await self.app(
            scope, _replay([{"type": "http.request", "body": body, "more_body": False}], receive), send
        )

    def _message(self) -> str:
        return f"request body is larger than {self.max_bytes} bytes"

    async def _reject(self, send: Send) -> None:
        import json

        from medgo.serve.protocol import error_body

        body = json.dumps(error_body(self._message(), "invalid_request_error", "request_too_large")).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _replay(messages: list[Message], receive: Receive) -> Receive:
    async def _receive() -> Message:
        return messages.pop(0) if messages else await receive()

    return _receive
