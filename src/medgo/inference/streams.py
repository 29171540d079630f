"""What the server needs from an engine: render + tokenize a prompt, and submit token ids for
generation, getting back an async stream of text pieces. Engines run generation in their own worker
thread, so the event loop never blocks on the model."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

from medgo.inference.base import GenerationParams, Prompt


class QueueFull(Exception):
    """More sequences waiting than the server accepts: the client should retry later (503)."""


@dataclass
class Finished:
    finish_reason: str  # "stop" | "length" | "cancelled"
    prompt_tokens: int
    completion_tokens: int
    logprobs: list[dict] | None = None  # every generated token's entry (requests that asked for logprobs)
    constrained: bool = False  # decoded under a grammar (the constraint in GenerationParams)


class Piece(str):
    """A text piece with the log-probability entries of the tokens it completes (logprobs requests)."""

    logprobs: list[dict]

    def __new__(cls, text: str, logprobs: list[dict]) -> Piece:
        obj = super().__new__(cls, text)
        obj.logprobs = logprobs
        return obj


class RequestStream:
    """Bridge from the worker thread to one request's coroutine: pieces of text, then Finished."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._q: asyncio.Queue = asyncio.Queue()
        self._tag: int | None = None  # set by `redirect`: items go to a shared queue as (tag, item)
        self.cancelled = threading.Event()
        self.outbox: Outbox | None = None  # set by a batching engine for the length of a batch
        self.on_cancel: Callable[[], object] | None = None  # an engine on the event loop: stop at once

    # worker thread side
    def _put(self, item: str | Finished | BaseException) -> None:
        if self.outbox is not None:
            self.outbox.items.append((self, item))
            return
        try:
            self._loop.call_soon_threadsafe(self._push, item)
        except RuntimeError:  # loop closed: the client is gone
            self.cancelled.set()

    def _push(self, item: str | Finished | BaseException) -> None:  # event loop side
        self._q.put_nowait(item if self._tag is None else (self._tag, item))

    def redirect(self, queue: asyncio.Queue, tag: int) -> None:
        """Deliver (tag, item) into `queue` from now on (items already here move first): a request with
        several sequences reads them all from one queue, without a relay task per sequence."""
        while not self._q.empty():
            queue.put_nowait((tag, self._q.get_nowait()))
        self._q, self._tag = queue, tag

    def piece(self, text: str) -> None:
        if text:
            self._put(text)

    def finish(self, done: Finished) -> None:
        self._put(done)

    def fail(self, exc: BaseException) -> None:
        self._put(exc)

    # request side
    def cancel(self) -> None:
        self.cancelled.set()
        cb = self.on_cancel
        if cb is not None:
            cb()

    async def events(self) -> AsyncIterator[str | Finished]:
        while True:
            item = await self._q.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            if isinstance(item, Finished):
                return

    async def collect(self) -> tuple[str, Finished]:
        parts: list[str] = []
        async for ev in self.events():
            if isinstance(ev, Finished):
                return "".join(parts), ev
            parts.append(ev)
        raise RuntimeError("stream ended without a finish event")


class Outbox:
    """Items for many streams from one decoding step, delivered with one wake-up of the event loop instead of
    one per stream (a batch of 16 would otherwise wake the loop 16 times per token)."""

    def __init__(self, streams: list[RequestStream]) -> None:
        self.items: list[tuple[RequestStream, str | Finished | BaseException]] = []
        self.streams = streams
        for st in streams:
            st.outbox = self

    def flush(self) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list] = {}
        for st, item in self.items:
            by_loop.setdefault(st._loop, []).append((st, item))
        self.items = []
        for loop, items in by_loop.items():
            try:
                loop.call_soon_threadsafe(_deliver, items)
            except RuntimeError:  # loop closed: those clients are gone
                for st, _ in items:
                    st.cancelled.set()

    def close(self) -> None:
        self.flush()
        for st in self.streams:
            st.outbox = None


def _deliver(items: list[tuple[RequestStream, str | Finished | BaseException]]) -> None:
    for st, item in items:
        st._push(item)


class ServingEngine(Protocol):
    name: str
    max_context: int

    def render(self, prompt: Prompt) -> str: ...

    # optional: `supports_constraints` (bool; absent = False), `score_prompt(ids, top)` (echo + logprobs)

    def encode(self, text: str) -> list[int]: ...

    def submit(
        self, prompt_ids: list[int], params: GenerationParams, group: str, index: int = 0
    ) -> RequestStream: ...

    def queue_depth(self) -> int: ...

    def start(self) -> None: ...

    def shutdown(self, timeout: float = 10.0) -> None: ...


class IncrementalDecoder:
    """Token ids → new text, holding back incomplete UTF-8 and anything that may begin a stop string."""

    def __init__(self, decode: Callable[[list[int]], str], stops: list[str]) -> None:
        self._decode = decode
        self.stops = [s for s in stops if s]
        self.ids: list[int] = []
        self.sent = ""

    def feed(self, token_id: int) -> tuple[str, bool]:
        """Returns (new text, whether a stop string was reached)."""
        self.ids.append(token_id)
        text = self._decode(self.ids)
        if text.endswith("\ufffd"):
            return "", False
        cut, hit = cut_at_stop(text, self.stops)
        if hit:
            return self._emit(cut), True
        hold = max((k for s in self.stops for k in range(1, len(s)) if text.endswith(s[:k])), default=0)
        return self._emit(text[: len(text) - hold]), False

    def flush(self) -> str:
        cut, _ = cut_at_stop(self._decode(self.ids), self.stops)
        return self._emit(cut)

    def _emit(self, upto: str) -> str:
        if len(upto) <= len(self.sent) or not upto.startswith(self.sent):
            return ""
        new, self.sent = upto[len(self.sent) :], upto
        return new


def cut_at_stop(text: str, stops: list[str]) -> tuple[str, bool]:
    cut = min((j for s in stops if s and (j := text.find(s)) != -1), default=len(text))
    return text[:cut], cut < len(text)
