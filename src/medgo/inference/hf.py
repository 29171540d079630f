"""transformers backend: batched, left-padded generation with KV cache; batched log-likelihood; streaming."""

from __future__ import annotations

import copy
import math
import threading
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import PreTrainedModel, PreTrainedTokenizerBase, TextIteratorStreamer

from medgo.inference.base import Completion, GenerationParams, Prompt
from medgo.model.factory import load_model, set_generation_defaults
from medgo.model.tokenizer import load_tokenizer, stop_token_ids


class HFEngine:
    name = "hf"

    def __init__(
        self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, batch_size: int = 8, device: str | None = None
    ) -> None:
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model = model.to(self.device).eval()
        self.tok = tokenizer
        self.batch_size = batch_size
        self.stop_ids = stop_token_ids(tokenizer)
        set_generation_defaults(self.model, tokenizer)
        self.max_len = int(getattr(model.config, "max_position_embeddings", 2048) or 2048)

    @classmethod
    def from_path(cls, path: str | Path, dtype: str = "float32", batch_size: int = 8, **kw) -> HFEngine:
        return cls(load_model(path, dtype, **kw), load_tokenizer(path), batch_size=batch_size)

    # -- prompts ---------------------------------------------------------------------------------
    def render(self, prompt: Prompt) -> str:
        if isinstance(prompt, str):
            return prompt
        return self.tok.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False)

    # -- generation ------------------------------------------------------------------------------
    def _gen_kwargs(self, params: GenerationParams) -> dict:
        kw: dict = {
            "max_new_tokens": params.max_new_tokens,
            "eos_token_id": self.stop_ids,
            "pad_token_id": self.tok.pad_token_id,
        }
        if params.temperature > 0:
            kw.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
        else:
            kw.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        return kw

    @torch.inference_mode()
    def generate(self, prompts: list[Prompt], params: GenerationParams) -> list[Completion]:
        """Batches of similar length (sorted, then put back in order: less padding); prompts that share a
        token prefix (a task's instruction, few-shot examples) reuse one KV cache of it (see prefix_cache)."""
        if params.seed is not None:
            torch.manual_seed(params.seed)
        texts = [self.render(p) for p in prompts for _ in range(params.n)]
        ids = [self.encode(t)[-(self.max_len - params.max_new_tokens) :] for t in texts]
        sampled = params.temperature > 0  # sampling keeps the caller's order (seeded draws follow it)
        order = list(range(len(ids))) if sampled else sorted(range(len(ids)), key=lambda i: len(ids[i]))
        prefix = None if sampled else self.prefix_cache(ids)
        out: list[Completion | None] = [None] * len(ids)
        for i in range(0, len(order), self.batch_size):
            idx = order[i : i + self.batch_size]
            for j, c in zip(idx, self._generate_batch([ids[j] for j in idx], params, prefix), strict=True):
                out[j] = c
        return [c for c in out if c is not None]

    MIN_SHARED_PREFIX = 16  # tokens: below this a separate prefix pass costs more than it saves

    def prefix_cache(self, ids: list[list[int]]) -> tuple[int, object] | None:
        """(length, KV cache) of the longest token prefix every prompt shares, at batch size 1; None when
        prompts are too few or share too little. Every prompt keeps at least one token of its own."""
        if len(ids) < 2:
            return None
        first = ids[0]
        n = shared_prefix_len(first, ids[1:], min(len(x) for x in ids) - 1)
        if n < self.MIN_SHARED_PREFIX:
            return None
        out = self.model(input_ids=torch.tensor([first[:n]], device=self.device), use_cache=True)
        cache = getattr(out, "cache", None)
        return None if cache is None or not hasattr(cache, "batch_repeat_interleave") else (n, cache)

    def _generate_batch(self, ids: list[list[int]], params: GenerationParams,
                        prefix: tuple[int, object] | None = None) -> list[Completion]:
        pad = self.tok.pad_token_id
        kw = self._gen_kwargs(params)
        if prefix is None:  # left padding
            width = max(len(x) for x in ids)
            rows = [[pad] * (width - len(x)) + x for x in ids]
            mask = [[0] * (width - len(x)) + [1] * len(x) for x in ids]
        else:  # shared prefix, then padding, then each prompt's own tokens (positions follow the mask)
            n, cache = prefix
            sw = max(len(x) - n for x in ids)
            rows = [x[:n] + [pad] * (sw - len(x) + n) + x[n:] for x in ids]
            mask = [[1] * n + [0] * (sw - len(x) + n) + [1] * (len(x) - n) for x in ids]
            kw["cache"] = copy.deepcopy(cache)
            kw["cache"].batch_repeat_interleave(len(ids))
        width = len(rows[0])
        input_ids = torch.tensor(rows, device=self.device)
        attn = torch.tensor(mask, device=self.device)
        gen = self.model.generate(input_ids=input_ids, attention_mask=attn, **kw)
        results = []
        for row, prompt_ids in zip(gen[:, width:].tolist(), ids, strict=True):
            finish = "length"
            toks = []
            for t in row:
                if t in self.stop_ids:
                    finish = "stop"
                    break
                toks.append(t)
            text = self.tok.decode(toks, skip_special_tokens=True)
            text, hit = _cut_at_stop(text, params.stop)
            results.append(Completion(text, len(prompt_ids), len(toks), "stop" if hit else finish))
        return results

    def stream(self, prompt: Prompt, params: GenerationParams) -> Iterator[str]:
        ids = torch.tensor([self.encode(self.render(prompt))], device=self.device)
        streamer = TextIteratorStreamer(self.tok, skip_prompt=True, skip_special_tokens=True)
        kw = self._gen_kwargs(params)
        if params.seed is not None:
            torch.manual_seed(params.seed)
        th = threading.Thread(
            target=self._generate_noinfer, kwargs={"input_ids": ids, "streamer": streamer, **kw}, daemon=True
        )
        th.start()
        emitted = ""
        for piece in streamer:
            prev = len(emitted)
            emitted += piece
            cut, hit = _cut_at_stop(emitted, params.stop)
            if hit:
                if len(cut) > prev:
                    yield cut[prev:]
                break
            yield piece
        th.join()

    @torch.inference_mode()
    def _generate_noinfer(self, **kw) -> None:
        self.model.generate(attention_mask=torch.ones_like(kw["input_ids"]), **kw)

    # -- scoring ---------------------------------------------------------------------------------
    @torch.inference_mode()
    def loglikelihood(self, requests: list[tuple[Prompt, str]]) -> list[tuple[float, bool]]:
        encoded = []
        for ctx, cont in requests:
            c_ids = self.encode(self.render(ctx))
            x_ids = self.encode(cont)
            seq = (c_ids + x_ids)[-self.max_len :]
            encoded.append((seq, len(x_ids)))
        out: list[tuple[float, bool]] = []
        for i in range(0, len(encoded), self.batch_size):
            out.extend(self._ll_batch(encoded[i : i + self.batch_size]))
        return out

    def _ll_batch(self, batch: list[tuple[list[int], int]]) -> list[tuple[float, bool]]:
        width = max(len(s) for s, _ in batch)
        pad = self.tok.pad_token_id
        ids = torch.tensor([s + [pad] * (width - len(s)) for s, _ in batch], device=self.device)
        attn = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s, _ in batch], device=self.device)
        logits = self.model(input_ids=ids, attention_mask=attn).logits.float()
        logp = F.log_softmax(logits, dim=-1)
        res = []
        for b, (seq, n_cont) in enumerate(batch):
            L = len(seq)
            pos = torch.arange(L - n_cont - 1, L - 1, device=self.device)
            target = ids[b, L - n_cont : L]
            lp = logp[b, pos]
            total = lp.gather(1, target[:, None]).sum().item()
            greedy = bool((lp.argmax(-1) == target).all().item())
            res.append((total, greedy))
        return res

    @torch.inference_mode()
    def perplexity(self, texts: list[str], block_size: int) -> dict[str, float]:
        """Token-level perplexity (and bits per character) of documents packed into blocks."""
        from medgo.model.packing import pack_documents

        blocks, _ = pack_documents(texts, self.tok, block_size, keep_remainder=True)
        nll, n_tok = 0.0, 0
        for i in range(0, len(blocks), self.batch_size):
            batch = blocks[i : i + self.batch_size]
            width = max(len(b) for b in batch)
            ids = torch.tensor([b + [self.tok.pad_token_id] * (width - len(b)) for b in batch], device=self.device)
            attn = torch.tensor([[1] * len(b) + [0] * (width - len(b)) for b in batch], device=self.device)
            labels = ids.masked_fill(attn == 0, -100)
            logits = self.model(input_ids=ids, attention_mask=attn).logits.float()
            loss = F.cross_entropy(
                logits[:, :-1].reshape(-1, logits.size(-1)), labels[:, 1:].reshape(-1), ignore_index=-100,
                reduction="sum",
            )
            nll += loss.item()
            n_tok += int((labels[:, 1:] != -100).sum().item())
        chars = sum(len(t) for t in texts)
        return {
            "perplexity": math.exp(nll / max(n_tok, 1)),
            "nll_per_token": nll / max(n_tok, 1),
            "bits_per_char": nll / math.log(2) / max(chars, 1),
            "tokens": n_tok,
        }


def _cut_at_stop(text: str, stops: list[str]) -> tuple[str, bool]:
    cut = len(text)
    for s in stops:
        if s:
            j = text.find(s)
            if j != -1:
                cut = min(cut, j)
    return text[:cut], cut < len(text)


def shared_prefix_len(ref: list[int], others: list[list[int]], limit: int) -> int:
    """Length of the token prefix `ref` shares with every list in `others`, at most `limit`."""
    n = min(limit, len(ref))
    for x in others:
        k = 0
        while k < n and k < len(x) and x[k] == ref[k]:
            k += 1
        n = k
    return n
