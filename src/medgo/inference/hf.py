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

from medgo.inference.base import Completion, GenerationParams, Prompt, render_prompt
from medgo.model.factory import load_model, set_generation_defaults
from medgo.model.tokenizer import load_tokenizer, stop_token_ids


class HFEngine:
    name = "hf"

    def __init__(
        self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, batch_size: int = 8, device: str | None = None
    ) -> None:
        if getattr(model, "hf_device_map", None) and len(set(model.hf_device_map.values())) > 1:
            self.device = model.device  # spread over several devices: inputs go where the embeddings are
            self.model = model.eval()
        else:
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
        return render_prompt(self.tok, prompt)

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
    LL_MIN_SAVED = 64  # tokens a shared prefix must save (its length x extra rows) to earn its own pass
    LL_PREFIX_TOKENS = 16384  # prefix tokens whose KV is kept at once (groups are scored in chunks of this)

    @torch.inference_mode()
    def loglikelihood(self, requests: list[tuple[Prompt, str]]) -> list[tuple[float, bool]]:
        """Sum log p(continuation | context) and whether greedy decoding gives it, per request.

        Work is shared three ways, none of which changes a number: requests whose model input is the same
        (same context, continuations differing only in their last token, e.g. answer letters) are one row;
        rows that share a long token prefix (a subject's few-shot examples, a question's context under its
        options) compute that prefix's KV cache once and run only their own tokens over it; rows are batched
        by length (sorted), and logits are computed only where a continuation token is scored."""
        rendered: dict[int, tuple[Prompt, list[int]]] = {}  # one render + encode per context object
        seqs: list[tuple[list[int], int]] = []
        for ctx, cont in requests:
            key = id(ctx)
            if key not in rendered:
                rendered[key] = (ctx, self.encode(self.render(ctx)))
            x_ids = self.encode(cont)
            seq = (rendered[key][1] + x_ids)[-self.max_len :]
            seqs.append((seq, min(len(x_ids), len(seq) - 1)))
        row_of: dict[tuple[int, ...], int] = {}
        rows: list[list[int]] = []
        first_pos: list[int] = []  # per row: the first position whose logits are needed
        req_row = []
        for seq, n in seqs:
            k = tuple(seq[:-1])
            if k not in row_of:
                row_of[k] = len(rows)
                rows.append(seq[:-1])
                first_pos.append(len(seq) - 1 - n)
            r = row_of[k]
            req_row.append(r)
            first_pos[r] = min(first_pos[r], len(seq) - 1 - n)
        wants: list[set[tuple[int, int]]] = [set() for _ in rows]  # (position, token) pairs scored in each row
        for (seq, n), r in zip(seqs, req_row, strict=True):
            wants[r].update((len(seq) - 1 - n + t, seq[len(seq) - n + t]) for t in range(n))
        scored = self._row_scores(rows, first_pos, wants)
        out = []
        for (seq, n), r in zip(seqs, req_row, strict=True):
            greedy, vals = scored[r]
            pairs = [(len(seq) - 1 - n + t, seq[len(seq) - n + t]) for t in range(n)]
            out.append((sum(vals[pt] for pt in pairs), all(greedy[p - first_pos[r]] == tok for p, tok in pairs)))
        return out

    def _row_scores(self, rows: list[list[int]], first_pos: list[int],
                    wants: list[set[tuple[int, int]]]) -> list[tuple[list[int], dict[tuple[int, int], float]]]:
        """Per row: the greedy token at each position from first_pos on, and log p of each wanted (position,
        token). Only these numbers are kept, never a row's log-probabilities over the vocabulary.

        The prefixes of all groups are computed in batched passes; then rows of different groups share a
        batch, each over its own group's prefix KV (prefix, padding, own tokens; positions follow the
        prefix), so the number of forward passes does not grow with the number of groups (subjects)."""
        res: list = [None] * len(rows)
        groups = ll_groups(rows, first_pos, self.MIN_SHARED_PREFIX, self.LL_MIN_SAVED)
        pre = [(n, ms) for n, ms in groups if n > 0]
        plain = [(0, ms) for n, ms in groups if n == 0]
        chunks: list[list[tuple[int, list[int]]]] = []  # groups whose prefix KV is alive at once
        for g in pre:
            if not chunks or sum(n for n, _ in chunks[-1]) + g[0] > self.LL_PREFIX_TOKENS:
                chunks.append([])
            chunks[-1].append(g)
        for chunk in chunks:
            kvs = self._prefix_kvs([rows[ms[0]][:n] for n, ms in chunk])
            if kvs is None:  # a cache this path cannot slice: one group at a time over a repeated prefix cache
                for n, ms in chunk:
                    cache = self._prefix_kv(rows[ms[0]][:n])
                    if cache is None:
                        plain.append((0, ms))
                        continue
                    for idx in self._ll_batches(sorted(ms, key=lambda i: len(rows[i])), rows, [n] * len(rows)):
                        c = copy.deepcopy(cache)
                        c.batch_repeat_interleave(len(idx))
                        self._score_batch(idx, rows, first_pos, wants, [n] * len(idx), c, res)
                continue
            n_of = [0] * len(rows)
            kv_of: dict[int, list[tuple[torch.Tensor, torch.Tensor]]] = {}
            for (n, ms), kv in zip(chunk, kvs, strict=True):
                for i in ms:
                    n_of[i], kv_of[i] = n, kv
            members = sorted((i for _, ms in chunk for i in ms), key=lambda i: len(rows[i]) - n_of[i])
            for idx in self._ll_batches(members, rows, n_of):
                self._score_batch(idx, rows, first_pos, wants, [n_of[i] for i in idx],
                                  self._batch_cache([kv_of[i] for i in idx], [n_of[i] for i in idx]), res)
        for _, ms in plain:
            for idx in self._ll_batches(sorted(ms, key=lambda i: len(rows[i])), rows, [0] * len(rows)):
                self._score_batch(idx, rows, first_pos, wants, [0] * len(idx), None, res)
        return res

    def _score_batch(self, idx: list[int], rows: list[list[int]], first_pos: list[int],
                     wants: list[set[tuple[int, int]]], ns: list[int], cache: object | None, res: list) -> None:
        got = self._ll_forward([rows[i] for i in idx], [first_pos[i] for i in idx], [wants[i] for i in idx], ns, cache)
        for i, g in zip(idx, got, strict=True):
            res[i] = g

    def _ll_batches(self, members: list[int], rows: list[list[int]], ns: list[int]) -> list[list[int]]:
        """Batches of rows in the given (length-sorted) order. Without a prefix: batch_size rows. Over a
        prefix of n tokens a row costs only its own tokens, so a batch takes as many rows as batch_size full
        rows' attention would (batch_size x (n + own) / own), at most 4 x batch_size."""
        out: list[list[int]] = []
        cur: list[int] = []
        for i in members:
            own = max(len(rows[i]) - ns[i], 1)
            cap = min(4 * self.batch_size, max(self.batch_size, self.batch_size * (ns[i] + own) // own))
            if cur and len(cur) + 1 > cap:
                out.append(cur)
                cur = []
            cur.append(i)
        return out + ([cur] if cur else [])

    def _prefix_kvs(self, prefixes: list[list[int]]) -> list[list[tuple[torch.Tensor, torch.Tensor]]] | None:
        """Per prefix, per layer: its (keys, values) of shape (heads, length, dim), from right-padded batched
        passes. None when the model's cache is not made of plain dynamic layers (sliding windows, ...)."""
        heads = self._heads()
        net = heads[0] if heads else self.model
        out: list = [None] * len(prefixes)
        order = sorted(range(len(prefixes)), key=lambda j: len(prefixes[j]))
        pad = self.tok.pad_token_id
        for b in range(0, len(order), self.batch_size):
            idx = order[b : b + self.batch_size]
            width = max(len(prefixes[j]) for j in idx)
            ids = torch.tensor([prefixes[j] + [pad] * (width - len(prefixes[j])) for j in idx], device=self.device)
            attn = torch.tensor([[1] * len(prefixes[j]) + [0] * (width - len(prefixes[j])) for j in idx],
                                device=self.device)
            res = net(input_ids=ids, attention_mask=attn, use_cache=True)
            cache = getattr(res, "cache", None) or getattr(res, "past_key_values", None)
            layers = getattr(cache, "layers", None)
            if not layers or any(type(lay).__name__ != "DynamicLayer" or getattr(lay, "keys", None) is None
                                 for lay in layers):
                return None
            for r, j in enumerate(idx):
                n = len(prefixes[j])
                out[j] = [(lay.keys[r, :, :n], lay.values[r, :, :n]) for lay in layers]
        return out

    def _batch_cache(self, kvs: list[list[tuple[torch.Tensor, torch.Tensor]]], ns: list[int]) -> object:
        """A DynamicCache whose row r holds kvs[r]'s prefix, right-padded to the longest (masked out)."""
        from transformers import DynamicCache

        width = max(ns)
        data = []
        for layer in range(len(kvs[0])):
            k0, v0 = kvs[0][layer]
            k = k0.new_zeros((len(kvs), k0.shape[0], width, k0.shape[-1]))
            v = v0.new_zeros((len(kvs), v0.shape[0], width, v0.shape[-1]))
            for r, (kv, n) in enumerate(zip(kvs, ns, strict=True)):
                k[r, :, :n], v[r, :, :n] = kv[layer]
            data.append((k, v))
        return DynamicCache(ddp_cache_data=data)

    def _heads(self) -> tuple[object, object] | None:
        """(decoder, lm head) when logits can be computed at chosen positions only; None: use the full model."""
        get_dec = getattr(self.model, "get_decoder", None)
        head = self.model.get_output_embeddings() if hasattr(self.model, "get_output_embeddings") else None
        cfg = self.model.config
        if get_dec is None or head is None or getattr(cfg, "final_logit_softcapping", None) or \
                getattr(cfg, "logit_scale", None) or type(self.model).__name__ not in _PLAIN_HEAD_MODELS:
            return None
        return get_dec(), head

    def _prefix_kv(self, prefix: list[int]) -> object | None:
        ids = torch.tensor([prefix], device=self.device)
        heads = self._heads()
        net = heads[0] if heads else self.model
        out = net(input_ids=ids, use_cache=True)
        cache = getattr(out, "cache", None) or getattr(out, "past_key_values", None)
        return cache if cache is not None and hasattr(cache, "batch_repeat_interleave") else None

    LL_CHUNK_ELEMENTS = 2**24  # logits alive at once when scoring: 64 MB of fp32 whatever the vocabulary

    def _ll_forward(self, rows: list[list[int]], first_pos: list[int], wants: list[set[tuple[int, int]]],
                    ns: list[int], cache: object | None) -> list[tuple[list[int], dict[tuple[int, int], float]]]:
        """One batch: row r's tokens after its prefix (ns[r] tokens, KV in `cache`, padded to the longest
        prefix), right-padded; positions continue each row's own prefix. The LM head and log-softmax run on
        scored positions only, LL_CHUNK_ELEMENTS // vocab positions at a time."""
        pad = self.tok.pad_token_id
        own = [r[n:] for r, n in zip(rows, ns, strict=True)]
        width, pw = max(len(x) for x in own), (max(ns) if cache is not None else 0)
        ids = torch.tensor([x + [pad] * (width - len(x)) for x in own], device=self.device)
        attn = torch.tensor([[1] * n + [0] * (pw - n) + [1] * len(x) + [0] * (width - len(x))
                             for x, n in zip(own, ns, strict=True)], device=self.device)
        pos = torch.tensor([list(range(n, n + width)) for n in ns], device=self.device)
        kw: dict = {"input_ids": ids, "attention_mask": attn, "position_ids": pos}
        if cache is not None:
            kw["cache"] = cache
            kw["use_cache"] = True
        n = 0  # from here on, positions are counted within each row's own tokens
        first_pos = [p - m for p, m in zip(first_pos, ns, strict=True)]
        wants = [{(q - m, t) for q, t in w} for w, m in zip(wants, ns, strict=True)]
        heads = self._heads()
        b_idx = [b for b, (x, p) in enumerate(zip(own, first_pos, strict=True)) for _ in range(p - n, len(x))]
        t_idx = [t for x, p in zip(own, first_pos, strict=True) for t in range(p - n, len(x))]
        if heads:
            states = heads[0](**kw).last_hidden_state[b_idx, t_idx]
        else:
            states = self.model(**kw).logits[b_idx, t_idx]
        base, k = [], 0  # each row's first flat position
        for x, p in zip(own, first_pos, strict=True):
            base.append(k)
            k += len(x) - (p - n)
        flat = [(base[i] + pos - first_pos[i], tok, i, pos) for i, w in enumerate(wants) for pos, tok in sorted(w)]
        vocab = int(self.model.config.get_text_config().vocab_size) if hasattr(self.model.config, "get_text_config") \
            else int(self.model.config.vocab_size)
        step = max(1, self.LL_CHUNK_ELEMENTS // max(vocab, 1))
        greedy = torch.empty(k, dtype=torch.long, device=self.device)
        vals = torch.empty(len(flat), device=self.device)
        fpos = torch.tensor([f[0] for f in flat], dtype=torch.long, device=self.device)
        ftok = torch.tensor([f[1] for f in flat], dtype=torch.long, device=self.device)
        for a in range(0, k, step):
            chunk = states[a : a + step]
            logp = F.log_softmax((heads[1](chunk) if heads else chunk).float(), dim=-1)
            greedy[a : a + step] = logp.argmax(-1)
            sel = ((fpos >= a) & (fpos < a + step)).nonzero().flatten()
            vals[sel] = logp[fpos[sel] - a, ftok[sel]]
        g, v = greedy.tolist(), vals.tolist()
        out: list[tuple[list[int], dict[tuple[int, int], float]]] = [
            (g[base[i] : base[i] + len(x) - (p - n)], {}) for i, (x, p) in enumerate(zip(own, first_pos, strict=True))]
        for (_, tok, i, pos), val in zip(flat, v, strict=True):
            out[i][1][(pos + ns[i], tok)] = val  # keyed by the position in the whole row
        return out

    PPL_CHUNK_ELEMENTS = 2**24  # logits alive at once in perplexity(): 64 MB of fp32 whatever vocab x batch

    @torch.inference_mode()
    def perplexity(self, texts: list[str], block_size: int) -> dict[str, float]:
        """Token-level perplexity (and bits per character) of documents packed into blocks.

        The logits never exist for a whole batch: the decoder's hidden states at the scored positions go
        through the LM head PPL_CHUNK_ELEMENTS // vocab positions at a time (fp32 log-softmax per chunk), so
        peak memory does not grow with batch x block x vocabulary (~60 GB of fp32 logits at 4 x 4096 x 152k
        before). Models whose logits are not a plain LM head of the hidden states run whole, with the loss
        still chunked."""
        from medgo.model.packing import pack_documents

        blocks, _ = pack_documents(texts, self.tok, block_size, keep_remainder=True)
        heads = self._heads()
        nll, n_tok = 0.0, 0
        for i in range(0, len(blocks), self.batch_size):
            batch = blocks[i : i + self.batch_size]
            width = max(len(b) for b in batch)
            ids = torch.tensor([b + [self.tok.pad_token_id] * (width - len(b)) for b in batch], device=self.device)
            attn = torch.tensor([[1] * len(b) + [0] * (width - len(b)) for b in batch], device=self.device)
            keep = attn[:, 1:] == 1
            target = ids[:, 1:][keep]
            if heads:
                hidden = heads[0](input_ids=ids, attention_mask=attn, use_cache=False).last_hidden_state[:, :-1][keep]
                score = heads[1]
            else:
                hidden = self.model(input_ids=ids, attention_mask=attn, use_cache=False).logits[:, :-1][keep]
                score = None
            del ids, attn
            vocab = score.weight.shape[0] if score is not None else hidden.shape[-1]
            step = max(1, self.PPL_CHUNK_ELEMENTS // vocab)
            for c in range(0, len(target), step):
                h = hidden[c : c + step]
                logits = (score(h) if score is not None else h).float()
                nll += F.cross_entropy(logits, target[c : c + step], reduction="sum").item()
                del logits
            n_tok += len(target)
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


_PLAIN_HEAD_MODELS = {"Qwen2ForCausalLM", "Qwen3ForCausalLM", "Qwen2MoeForCausalLM", "Qwen3MoeForCausalLM",
                      "LlamaForCausalLM", "MistralForCausalLM", "PeftModelForCausalLM"}


def ll_groups(rows: list[list[int]], first_pos: list[int], min_prefix: int,
              min_saved: int) -> list[tuple[int, list[int]]]:
    """Rows grouped by a shared token prefix: (prefix length, row indices); 0 = no shared prefix. Rows are
    sorted as token sequences, so rows sharing a prefix are neighbours. A group of k rows sharing n tokens
    takes the next row, sharing m <= n with it, when that saves as much: m x k >= n x (k - 1). So a subject's
    questions gather over their few-shot block (not just the header every subject has), and a question's
    options over its own context rather than over a short instruction every question has.
    The prefix never reaches a position whose logits are needed."""
    limit = [min(p, len(r) - 1) for p, r in zip(first_pos, rows, strict=True)]  # each row keeps a token
    order = sorted(range(len(rows)), key=lambda i: rows[i])
    groups: list[tuple[int, list[int]]] = []
    loose: list[int] = []

    def close(n: int, members: list[int]) -> None:
        if len(members) > 1 and n >= min_prefix and n * (len(members) - 1) >= min_saved:
            groups.append((n, members))
        else:
            loose.extend(members)

    cur: list[int] = []
    n = 0
    for i in order:
        if not cur:
            cur, n = [i], limit[i]
            continue
        m = min(n, limit[i], shared_prefix_len(rows[cur[0]], [rows[i]], n))
        if m >= min_prefix and m * len(cur) >= n * (len(cur) - 1):
            cur.append(i)
            n = m
        else:
            close(n, cur)
            cur, n = [i], limit[i]
    if cur:
        close(n, cur)
    return groups + ([(0, loose)] if loose else [])


def shared_prefix_len(ref: list[int], others: list[list[int]], limit: int) -> int:
    """Length of the token prefix `ref` shares with every list in `others`, at most `limit`."""
    n = min(limit, len(ref))
    for x in others:
        k = 0
        while k < n and k < len(x) and x[k] == ref[k]:
            k += 1
        n = k
    return n
