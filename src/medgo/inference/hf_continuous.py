"""Continuous batching for the transformers engine. One decoding loop owns a key/value cache whose rows come
and go: a request that arrives while others decode is prefilled and joins the running batch at the next
step, and a finished row leaves at once. Static batching (`hf_batching`) instead keeps a batch until its
slowest row ends, so requests that finish early come back to a server that makes them wait or run half
empty. Every row samples with its own settings (greedy, or temperature/top-p with its own seeded
generator), so any requests may share a step.

The cache is left-padded: all rows share one column layout, the 2-D attention mask hides each row's
padding, and position ids count each row's real tokens, so a row's logits do not depend on its neighbours.
Models whose cache is not a plain full-attention `DynamicCache` (sliding windows, state-space layers) use
the static engine instead (`supports`)."""

from __future__ import annotations

import inspect
import logging

import torch
import torch.nn.functional as F
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

from medgo.inference.constrained import RowHead
from medgo.inference.hf import HFEngine, shared_prefix_len
from medgo.inference.hf_batching import HFBatchingEngine, route_token
from medgo.inference.sampling import draw, seeded_generator
from medgo.inference.streams import Finished, IncrementalDecoder, Outbox
from medgo.inference.worker import Slot

log = logging.getLogger(__name__)


class _Row:
    """A sequence in the running batch: its slot, decoder, sampler and the next token to feed."""

    __slots__ = ("slot", "dec", "gen", "pos", "last", "head")

    def __init__(
        self, slot: Slot, dec: IncrementalDecoder, gen: torch.Generator | None, pos: int, head: RowHead | None = None
    ) -> None:
        self.slot, self.dec, self.gen, self.pos, self.last, self.head = slot, dec, gen, pos, 0, head


class _Batch:
    """The running rows with their shared cache and attention mask (rows × cache columns)."""

    def __init__(self, rows: list[_Row], cache: DynamicCache, mask: torch.Tensor) -> None:
        self.rows, self.cache, self.mask = rows, cache, mask

    def keep(self, idx: list[int]) -> None:
        """Drop the other rows, then the leading columns that are padding in every remaining row."""
        if len(idx) == len(self.rows):
            return
        self.rows = [self.rows[i] for i in idx]
        if not idx:
            return
        sel = torch.tensor(idx, device=self.mask.device)
        self.cache.batch_select_indices(sel)
        self.mask = self.mask.index_select(0, sel)
        first = int(self.mask.any(0).nonzero()[0])
        if first:
            self.mask = self.mask[:, first:]
            for layer in self.cache.layers:
                layer.keys, layer.values = layer.keys[:, :, first:], layer.values[:, :, first:]

    def absorb(self, other: _Batch) -> None:
        """Append another batch's rows, left-padding the shorter cache so the columns line up."""
        width = max(self.mask.shape[1], other.mask.shape[1])
        for a, b in zip(self.cache.layers, other.cache.layers, strict=True):
            a.keys = torch.cat([_lpad(a.keys, width), _lpad(b.keys, width)])
            a.values = torch.cat([_lpad(a.values, width), _lpad(b.values, width)])
        self.mask = torch.cat([_lpad(self.mask, width), _lpad(other.mask, width)])
        self.rows += other.rows


def _lpad(x: torch.Tensor, width: int) -> torch.Tensor:
    """Left-pad the sequence axis (last of a mask, second to last of keys/values) with zeros."""
    if x.dim() == 2:
        return F.pad(x, (width - x.shape[1], 0))
    return F.pad(x, (0, 0, width - x.shape[2], 0))



class HFContinuousEngine(HFBatchingEngine):
    name = "hf"

    @staticmethod
    def supports(model: torch.nn.Module) -> bool:
        try:
            cache = DynamicCache(config=model.config)
        except Exception:  # noqa: BLE001 - an unusual config: the static engine handles it
            return False
        return bool(cache.layers) and all(type(layer) is DynamicLayer for layer in cache.layers)

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        params = inspect.signature(self.hf.model.forward).parameters
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        self._outbox = Outbox([])
        self._prefix_ids: list[int] = []
        self._prefix_kv: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._last_prompt: list[int] = []

    # -- the loop --------------------------------------------------------------------------------
    def _loop(self) -> None:
        self.thread_init()
        batch: _Batch | None = None
        while True:
            running = len(batch.rows) if batch else 0
            new = self._take_any(self.max_batch - running, running)
            if not new and not running:
                return  # shutting down, nothing left
            try:
                with torch.inference_mode():
                    if new:
                        joined = self._prefill(new)
                        if batch is None or not batch.rows:
                            batch = joined
                        elif joined.rows:
                            batch.absorb(joined)
                    if batch is not None and batch.rows:
                        if self.on_batch:
                            self.on_batch(len(batch.rows))
                        self._step(batch)
            except Exception as e:  # keep serving: these rows fail, the next ones may not
                log.error("generation failed for %d sequences: %s", running + len(new), type(e).__name__)
                for s in [r.slot for r in (batch.rows if batch else [])] + new:
                    if not s.done:
                        s.done = True
                        s.stream.fail(RuntimeError("generation failed"))
                self._outbox.flush()
                batch = None

    def _prefill(self, slots: list[Slot]) -> _Batch:
        """Run the new prompts together, sample each one's first token, and return those still going."""
        live: list[Slot] = []
        for s in slots:
            if s.stream.cancelled.is_set():
                s.done = True
                s.stream.finish(Finished("cancelled", len(s.prompt_ids), 0))
            else:
                live.append(s)
        dev = self.hf.device
        heads = self.heads_for(live)
        rows = [
            _Row(s, IncrementalDecoder(self._decode, s.params.stop), seeded_generator(s, dev), len(s.prompt_ids), h)
            for s, h in zip(live, heads, strict=True)
        ]
        for r in rows:
            r.slot.stream.outbox = self._outbox
        cache = DynamicCache(config=self.hf.model.config)
        prompts = [s.prompt_ids for s in live]
        n = self._shared_prefix(prompts) if prompts else 0
        if n:  # [cached prefix][padding][own tokens]: only the own tokens go through the model
            for i, (k, v) in enumerate(self._prefix_kv):
                cache.update(
                    k[:, :, :n].expand(len(live), -1, -1, -1), v[:, :, :n].expand(len(live), -1, -1, -1), i
                )
        width = max((len(x) - n for x in prompts), default=0)
        pad = self.hf.tok.pad_token_id or 0
        ids = torch.tensor([[pad] * (width - len(x) + n) + x[n:] for x in prompts], device=dev)
        mask = torch.tensor(
            [[1] * n + [0] * (width - len(x) + n) + [1] * (len(x) - n) for x in prompts], device=dev
        )
        batch = _Batch(rows, cache, mask)
        if not rows:
            return batch
        out = self.hf.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=(mask.cumsum(-1) - 1).clamp(min=0)[:, n:],
            use_cache=True,
            logits_to_keep=1,
            **{self._cache_kw: cache},
        )
        self._advance(batch, out.logits[:, -1])
        return batch

    MIN_SHARED_PREFIX = HFEngine.MIN_SHARED_PREFIX

    def _shared_prefix(self, prompts: list[list[int]]) -> int:
        """Automatic prefix caching: how many leading tokens of every new prompt have a cached KV (a system
        prompt, a clinical instruction, a chat's earlier turns). The cache holds one prefix: the longest
        one the new prompts share with each other and with the last prompt seen, computed once at batch
        size 1. Keys and values of a prefix do not depend on what follows it, so any shorter part of it
        can be reused too. Every prompt keeps at least one token of its own to compute logits from."""
        room = min(len(x) for x in prompts) - 1
        n = shared_prefix_len(self._prefix_ids, prompts, room)
        others = prompts[1:] + ([self._last_prompt] if self._last_prompt else [])
        fresh = shared_prefix_len(prompts[0], others, room) if others else 0
        if fresh >= self.MIN_SHARED_PREFIX and (
            n < self.MIN_SHARED_PREFIX or fresh >= n + self.MIN_SHARED_PREFIX
        ):
            got = self.hf.prefix_cache([prompts[0][: fresh + 1], *others])  # the eval engine's prefix pass
            if got is not None:
                n, cache = got
                self._prefix_ids = prompts[0][:n]
                self._prefix_kv = [(layer.keys, layer.values) for layer in cache.layers]
        self._last_prompt = prompts[-1]
        return n if n >= self.MIN_SHARED_PREFIX else 0

    def _step(self, batch: _Batch) -> None:
        dev = self.hf.device
        batch.mask = torch.cat([batch.mask, batch.mask.new_ones(len(batch.rows), 1)], 1)
        out = self.hf.model(
            input_ids=torch.tensor([[r.last] for r in batch.rows], device=dev),
            attention_mask=batch.mask,
            position_ids=torch.tensor([[r.pos] for r in batch.rows], device=dev),
            use_cache=True,
            **{self._cache_kw: batch.cache},
        )
        for r in batch.rows:
            r.pos += 1
        self._advance(batch, out.logits[:, -1])

    def _advance(self, batch: _Batch, logits: torch.Tensor) -> None:
        """Pick each row's next token, stream it, and let finished rows go."""
        nxt = logits.argmax(-1).tolist()
        for i, r in enumerate(batch.rows):
            p = r.slot.params
            if r.head is not None:
                nxt[i] = r.head.pick(logits[i], p, r.gen, p.max_new_tokens - len(r.slot.tokens), draw)
            elif p.temperature > 0:
                nxt[i] = draw(logits[i], p, r.gen)
        keep = []
        for i, (r, t) in enumerate(zip(batch.rows, nxt, strict=True)):
            route_token(r.slot, r.dec, t, self._stop_ids, r.head)
            r.last = t
            if not r.slot.done:
                keep.append(i)
        self._outbox.flush()
        for r in batch.rows:
            if r.slot.done:
                r.slot.stream.outbox = None
        batch.keep(keep)


