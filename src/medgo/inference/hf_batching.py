"""transformers engine for serving: the eval HFEngine's model and tokenizer behind a request queue with
dynamic batching. One `generate` call serves a whole batch; a stopping criterion routes each new token
to its request (streaming) and retires a row as soon as its request is satisfied or cancelled."""

from __future__ import annotations

import threading
from pathlib import Path

import torch
from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

from medgo.inference.base import GenerationParams, Prompt
from medgo.inference.constrained import GrammarBackend, RowHead, make_head, prompt_logprobs
from medgo.inference.hf import HFEngine
from medgo.inference.sampling import draw, seeded_generator
from medgo.inference.streams import Finished, IncrementalDecoder, Outbox, Piece
from medgo.inference.worker import QueueWorker, Slot


class _Router(StoppingCriteria):
    def __init__(
        self,
        slots: list[Slot],
        decoders: list[IncrementalDecoder],
        stop_ids: set[int],
        outbox: Outbox,
        heads: list[RowHead | None] | None = None,
    ) -> None:
        self.slots, self.decoders, self.stop_ids, self.outbox = slots, decoders, stop_ids, outbox
        self.heads = heads or [None] * len(slots)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kw) -> torch.BoolTensor:
        new = input_ids[:, -1].tolist()
        for s, dec, t, h in zip(self.slots, self.decoders, new, self.heads, strict=True):
            if not s.done:
                route_token(s, dec, t, self.stop_ids, h)
        self.outbox.flush()
        return torch.tensor([s.done for s in self.slots], dtype=torch.bool, device=input_ids.device)


class _RowPicker(LogitsProcessor):
    """Batches with a constrained or logprobs row: every row's token is chosen here from the raw logits
    (grammar mask, per-row sampler), and generate (greedy) takes it from a one-hot score."""

    def __init__(self, slots: list[Slot], heads: list[RowHead | None], gens: list, fill: int) -> None:
        self.slots, self.heads, self.gens, self.fill = slots, heads, gens, fill

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:

        out = torch.full_like(scores, float("-inf"))
        for i, (s, h) in enumerate(zip(self.slots, self.heads, strict=True)):
            p = s.params
            if s.done:
                t = self.fill
            elif h is not None:
                t = h.pick(scores[i], p, self.gens[i], p.max_new_tokens - len(s.tokens), draw)
            elif p.temperature > 0:
                t = draw(scores[i], p, self.gens[i])
            else:
                t = int(scores[i].argmax())
            out[i, t] = 0.0
        return out


def route_token(
    s: Slot, dec: IncrementalDecoder, t: int, stop_ids: set[int], head: RowHead | None = None
) -> None:
    """One new token of a live sequence: stream its text, or finish the sequence (cancel, stop, length)."""
    if s.stream.cancelled.is_set():
        _finish(s, dec, "cancelled", flush=False, head=head)
    elif t in stop_ids:
        if head is not None:
            head.drop_last()
        _finish(s, dec, "stop", head=head)
    else:
        s.tokens.append(t)
        text, hit = dec.feed(t)
        _piece(s, text, head)
        if hit:
            _finish(s, dec, "stop", flush=False, head=head)
        elif len(s.tokens) >= s.params.max_new_tokens:
            _finish(s, dec, "length", head=head)


def _piece(s: Slot, text: str, head: RowHead | None) -> None:
    if text and head is not None and head.top_logprobs is not None:
        s.stream.piece(Piece(text, head.take_pending()))
    else:
        s.stream.piece(text)


def _finish(
    s: Slot, dec: IncrementalDecoder, reason: str, flush: bool = True, head: RowHead | None = None
) -> None:
    if flush:
        _piece(s, dec.flush(), head)
    s.done = True
    lps = head.entries if head is not None and head.top_logprobs is not None else None
    constrained = head is not None and head.constrained
    s.stream.finish(Finished(reason, len(s.prompt_ids), len(s.tokens), lps, constrained))


class HFBatchingEngine(QueueWorker):
    name = "hf"

    def __init__(self, engine: HFEngine, threads: int | None = None, **queue_kw) -> None:
        super().__init__(**queue_kw)
        self.hf = engine
        self.threads = threads
        self.max_context = engine.max_len
        self._stop_ids = set(engine.stop_ids)
        self._grammar: GrammarBackend | None = None
        self._score_lock = threading.Lock()
        self._grammar_lock = threading.Lock()

    @property
    def supports_constraints(self) -> bool:
        """Grammar-constrained decoding needs xgrammar (a main dependency); without it, assess parses and
        repairs and response_format is a 400."""
        import importlib.util

        return importlib.util.find_spec("xgrammar") is not None

    @property
    def grammar(self) -> GrammarBackend:
        """The tokenizer's vocabulary for xgrammar, built on first use (a constrained request)."""
        if self._grammar is None:
            with self._grammar_lock:
                if self._grammar is None:
                    vocab = int(self.hf.model.get_output_embeddings().weight.shape[0])
                    self._grammar = GrammarBackend(self.hf.tok, vocab, list(self.hf.stop_ids))
        return self._grammar

    def heads_for(self, slots: list[Slot]) -> list[RowHead | None]:
        need = any(s.params.constraint is not None or s.params.logprobs is not None for s in slots)
        return [make_head(self.grammar if need else None, s.params) for s in slots]

    def score_prompt(self, ids: list[int], top: int) -> list[dict | None]:
        """Each prompt token's log-probability (echo + logprobs); runs beside the decoding thread."""
        with self._score_lock, torch.inference_mode():
            if self.threads:
                torch.set_num_threads(self.threads)
            return prompt_logprobs(self.hf.model, ids, top, self.grammar, self.hf.device)

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

    def decode(self, ids: list[int]) -> str:
        """Token ids given as a prompt, as text (special tokens kept)."""
        return self.hf.tok.decode(ids, skip_special_tokens=False)

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
        heads = self.heads_for(slots)
        kw = self.hf._gen_kwargs(params)
        if any(h is not None for h in heads):  # rows pick their own tokens from the raw logits
            kw = self.hf._gen_kwargs(GenerationParams(max_new_tokens=params.max_new_tokens))
            gens = [seeded_generator(s, dev) for s in slots]
            kw["logits_processor"] = LogitsProcessorList(
                [_RowPicker(slots, heads, gens, min(self._stop_ids))]
            )
        outbox = Outbox([s.stream for s in slots])
        try:
            self.hf.model.generate(
                input_ids=input_ids,
                attention_mask=attn,
                stopping_criteria=StoppingCriteriaList(
                    [_Router(slots, decoders, self._stop_ids, outbox, heads)]
                ),
                **kw,
            )
            for s, dec, h in zip(slots, decoders, heads, strict=True):
                if not s.done:  # the batch hit its token budget before this row said anything final
                    _finish(s, dec, "length", head=h)
        finally:
            outbox.close()
