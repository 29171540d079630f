"""transformers engine for serving: the eval HFEngine's model and tokenizer behind a request queue with
dynamic batching. One `generate` call serves a whole batch; a stopping criterion routes each new token
to its request (streaming) and retires a row as soon as its request is satisfied or cancelled."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import StoppingCriteria, StoppingCriteriaList

from medgo.inference.base import GenerationParams, Prompt
from medgo.inference.hf import HFEngine
from medgo.inference.streams import Finished, IncrementalDecoder, Outbox
from medgo.inference.worker import QueueWorker, Slot


class _Router(StoppingCriteria):
    def __init__(
        self, slots: list[Slot], decoders: list[IncrementalDecoder], stop_ids: set[int], outbox: Outbox
    ) -> None:
        self.slots, self.decoders, self.stop_ids, self.outbox = slots, decoders, stop_ids, outbox

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kw) -> torch.BoolTensor:
        new = input_ids[:, -1].tolist()
        for s, dec, t in zip(self.slots, self.decoders, new, strict=True):
            if not s.done:
                route_token(s, dec, t, self.stop_ids)
        self.outbox.flush()
        return torch.tensor([s.done for s in self.slots], dtype=torch.bool, device=input_ids.device)


def route_token(s: Slot, dec: IncrementalDecoder, t: int, stop_ids: set[int]) -> None:
    """One new token of a live sequence: stream its text, or finish the sequence (cancel, stop, length)."""
    if s.stream.cancelled.is_set():
        _finish(s, dec, "cancelled", flush=False)
    elif t in stop_ids:
        _finish(s, dec, "stop")
    else:
        s.tokens.append(t)
        text, hit = dec.feed(t)
        s.stream.piece(text)
        if hit:
            _finish(s, dec, "stop", flush=False)
        elif len(s.tokens) >= s.params.max_new_tokens:
            _finish(s, dec, "length")


def _finish(s: Slot, dec: IncrementalDecoder, reason: str, flush: bool = True) -> None:
    if flush:
        s.stream.piece(dec.flush())
    s.done = True
    s.stream.finish(Finished(reason, len(s.prompt_ids), len(s.tokens)))


class HFBatchingEngine(QueueWorker):
    name = "hf"

    def __init__(self, engine: HFEngine, threads: int | None = None, **queue_kw) -> None:
        super().__init__(**queue_kw)
        self.hf = engine
        self.threads = threads
        self.max_context = engine.max_len
        self._stop_ids = set(engine.stop_ids)

    @classmethod
    def from_path(
        cls, path: str | Path, dtype: str = "float32", threads: int | None = None, **queue_kw
    ) -> HFBatchingEngine:
        return cls(HFEngine.from_path(path, dtype=dtype), threads=threads, **queue_kw)

    def thread_init(self) -> None:
        # OpenMP settings are per thread: set them where generation runs. On a CPU shared with other work,
        # fewer threads avoid barrier stalls when a sibling thread is descheduled.
        if self.threads:
            torch.set_num_threads(self.threads)

    def render(self, prompt: Prompt) -> str:
        return self.hf.render(prompt)

    def encode(self, text: str) -> list[int]:
        return self.hf.encode(text)

    def _decode(self, ids: list[int]) -> str:
        return self.hf.tok.decode(ids, skip_special_tokens=True)

    @torch.inference_mode()
    def run_batch(self, slots: list[Slot]) -> None:
        p0 = slots[0].params
        params = GenerationParams(
            max_new_tokens=max(s.params.max_new_tokens for s in slots),
            temperature=p0.temperature,
            top_p=p0.top_p,
        )
        width = max(len(s.prompt_ids) for s in slots)
        pad = self.hf.tok.pad_token_id
        dev = self.hf.device
        input_ids = torch.tensor(
            [[pad] * (width - len(s.prompt_ids)) + s.prompt_ids for s in slots], device=dev
        )
        attn = torch.tensor(
            [[0] * (width - len(s.prompt_ids)) + [1] * len(s.prompt_ids) for s in slots], device=dev
        )
        decoders = [IncrementalDecoder(self._decode, s.params.stop) for s in slots]
        if p0.seed is not None and p0.temperature > 0:
            torch.manual_seed(p0.seed)
        outbox = Outbox([s.stream for s in slots])
        try:
            self.hf.model.generate(
                input_ids=input_ids,
                attention_mask=attn,
                stopping_criteria=StoppingCriteriaList([_Router(slots, decoders, self._stop_ids, outbox)]),
                **self.hf._gen_kwargs(params),
            )
            for s, dec in zip(slots, decoders, strict=True):
                if not s.done:  # the batch hit its token budget before this row said anything final
                    _finish(s, dec, "length")
        finally:
            outbox.close()
