"""A request queue drained by one worker thread. Idle, the worker waits a few milliseconds for as many
arrivals as recent demand predicts; busy, requests pile up and the next batch takes every queued sequence
that shares sampling settings (dynamic batching). Subclasses run a batch; max_batch=1: one at a time."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from medgo.inference.base import GenerationParams
from medgo.inference.streams import Finished, QueueFull, RequestStream

log = logging.getLogger(__name__)
BURST_WAIT_S = 0.002


@dataclass
class Slot:
    """One sequence to generate for one request."""

    prompt_ids: list[int]
    params: GenerationParams
    stream: RequestStream
    key: tuple
    index: int = 0  # which of a request's n sequences: seeds each copy differently
    arrived: float = field(default_factory=time.monotonic)
    tokens: list[int] = field(default_factory=list)
    done: bool = False


def batch_key(params: GenerationParams, group: str) -> tuple:
    """Sequences may share a batch only when they sample the same way. Greedy decoding ignores seeds; a
    seeded request samples alone (with its own n copies) so the same seed gives the same answer."""
    if params.temperature <= 0:
        return ("greedy",)
    return (
        "sample",
        params.temperature,
        params.top_p,
        (params.seed, group) if params.seed is not None else None,
    )


class QueueWorker:
    name = "queue"

    def __init__(self, max_batch: int = 16, batch_wait_ms: float = 20.0, max_queue: int = 256) -> None:
        self.max_batch = max_batch
        self.batch_wait_s = batch_wait_ms / 1000
        self.max_queue = max_queue
        self._pending: deque[Slot] = deque()
        self._cv = threading.Condition()
        self._stopping = False
        self._running = 0
        self._peak = 1
        self._thread: threading.Thread | None = None
        self.on_batch = None  # optional callback(batch_size) for metrics

    # -- request side --------------------------------------------------------------------------
    def submit(
        self, prompt_ids: list[int], params: GenerationParams, group: str, index: int = 0
    ) -> RequestStream:
        import asyncio

        stream = RequestStream(asyncio.get_running_loop())
        self.enqueue(Slot(prompt_ids, params, stream, batch_key(params, group), index))
        return stream

    def enqueue(self, slot: Slot) -> None:
        with self._cv:
            if self._stopping:
                raise QueueFull("server is shutting down")
            if len(self._pending) >= self.max_queue:
                raise QueueFull(f"{len(self._pending)} sequences are already waiting")
            self._pending.append(slot)
            self._cv.notify()

    def queue_depth(self) -> int:
        return len(self._pending) + self._running

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=f"medgo-{self.name}-worker", daemon=True)
            self._thread.start()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop taking work; let the worker finish what is queued (in-flight streams complete)."""
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    # -- worker side ---------------------------------------------------------------------------
    def _await_work(self) -> bool:
        """With the lock held: block until something is queued, then give a burst a moment to land.
        False: shutting down with nothing left to do."""
        while not self._pending:
            if self._stopping:
                return False
            self._cv.wait(0.1)
        # Wait for stragglers only when recent demand says they are coming: clients of the last
        # batch come back a few ms apart, and a batch started early splits them in two. Otherwise
        # only a burst (requests sent together) gets a moment to land: a lone client barely waits.
        expected = min(self.max_batch, self._peak)
        if len(self._pending) < expected:
            goal, window = expected, self.batch_wait_s
        else:
            goal, window = self.max_batch, min(self.batch_wait_s, BURST_WAIT_S)
        deadline = time.monotonic() + window
        while len(self._pending) < goal and (left := deadline - time.monotonic()) > 0:
            self._cv.wait(left)
        return True

    def _take(self) -> list[Slot]:
        """The next static batch: queued sequences that share sampling settings with the oldest."""
        with self._cv:
            if not self._await_work():
                return []
            key = self._pending[0].key
            batch, rest = [], deque()
            while self._pending:
                s = self._pending.popleft()
                (batch if s.key == key and len(batch) < self.max_batch else rest).append(s)
            self._pending = rest
            self._running = len(batch)
            self._peak = max(len(batch) + len(rest), self._peak - 1)  # demand seen lately, decaying
            return batch

    def _take_any(self, room: int, running: int) -> list[Slot]:
        """Up to `room` queued sequences of any sampling settings, for a batch that already runs `running`
        rows. Idle (running == 0), waits for work as `_take` does. Busy, it never blocks, but lets arrivals
        gather for up to a quarter of the batch wait: each admission costs a prefill pass, and clients of
        the same wave come back a few ms apart, so one pass for the wave beats one pass per client."""
        with self._cv:
            if running == 0:
                if not self._await_work():
                    return []
            elif self._pending:
                expected = min(room, max(1, self._peak - running))
                waited = time.monotonic() - self._pending[0].arrived
                if len(self._pending) < expected and waited < self.batch_wait_s / 4:
                    return []
            batch = [self._pending.popleft() for _ in range(min(room, len(self._pending)))]
            self._running = running + len(batch)
            if batch:  # demand seen lately, decaying by one per admission (not per decoding step)
                self._peak = max(self._running + len(self._pending), self._peak - 1)
            return batch

    def thread_init(self) -> None:
        """Runs first in the worker thread (per-thread library settings such as CPU threads)."""

    def _loop(self) -> None:
        self.thread_init()
        while True:
            batch = self._take()
            if not batch:
                return
            live = [s for s in batch if not s.stream.cancelled.is_set()]
            for s in batch:
                if s not in live:
                    s.stream.finish(Finished("cancelled", len(s.prompt_ids), 0))
            try:
                if live:
                    if self.on_batch:
                        self.on_batch(len(live))
                    self.run_batch(live)
            except Exception as e:  # keep serving: this batch fails, the next one may not
                log.error("generation failed for a batch of %d: %s", len(live), type(e).__name__)
                for s in live:
                    if not s.done:
                        s.done = True
                        s.stream.fail(RuntimeError("generation failed"))
            finally:
                with self._cv:
                    self._running = 0

    def run_batch(self, slots: list[Slot]) -> None:
        raise NotImplementedError
