"""Grammar-constrained decoding and per-token log-probabilities for the transformers serving engines.

Constraints are compiled by xgrammar (the structured-output library vLLM and SGLang use; it runs on CPU,
knows byte-level BPE vocabularies, and compiles a JSON schema to a token mask in milliseconds). Each
sequence gets its own matcher, so rows with different schemas, or none, share a decoding step.

A constraint is a plain dict carried in GenerationParams.constraint:
  {"type": "json_object"}                       any JSON object
  {"type": "json_schema", "schema": {...}}      JSON valid against the schema (strict)
  {"type": "tool_call", "schema": {...}}        Qwen's `<tool_call>\\n{json}\\n</tool_call>` around the schema
An optional "reserve" (tokens) sets when finish mode starts (default: the bytes of the shortest document
the schema admits + FINISH_MARGIN, at most half the budget).

Valid by construction needs the output to end inside the token budget, so when a row's remaining budget
falls to `reserve` tokens it enters finish mode: it ends the document if the grammar allows that, else it
takes the longest allowed token made only of closing characters (`"`, `]`, `}`), else the longest allowed
token that opens nothing and is not part of a number (forced key names go fast), else the model's choice.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import torch

CLOSERS = frozenset(b'"]}')
OPENERS = frozenset(b"[{")
NUMBER = frozenset(b"0123456789.eE+-")  # a number can go on for ever: never preferred in finish mode
FINISH_MARGIN = 32  # tokens beyond the shortest document, for closing what is open when finish mode starts


def constraint_key(spec: dict) -> str:
    return json.dumps(spec, sort_keys=True, ensure_ascii=False)


def check_constraint(spec: dict) -> None:
    """Raise ValueError when the spec cannot be compiled (a bad schema): the server answers 400."""
    import xgrammar as xgr

    kind = spec.get("type")
    if kind == "json_object":
        return
    if kind in ("json_schema", "tool_call"):
        try:
            xgr.Grammar.from_json_schema(json.dumps(spec["schema"]), any_whitespace=False)
        except Exception as e:  # noqa: BLE001 - xgrammar raises several types for unsupported schemas
            raise ValueError(f"the JSON schema cannot be used for constrained decoding: {e}") from None
        return
    raise ValueError(f"unknown constraint type {kind!r}")


class GrammarBackend:
    """One per engine: the tokenizer's vocabulary as xgrammar sees it, and compiled grammars (LRU)."""

    def __init__(self, tokenizer: Any, vocab_size: int, stop_ids: list[int], cache_size: int = 64) -> None:
        import xgrammar as xgr

        self.xgr = xgr
        self.info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size, stop_token_ids=stop_ids)
        self.compiler = xgr.GrammarCompiler(self.info, max_threads=1, cache_enabled=True)
        self.vocab_size = vocab_size
        self.stop_ids = list(stop_ids)
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        vocab = self.info.decoded_vocab
        self.token_bytes: list[bytes] = [bytes(b) for b in vocab] + [b""] * (vocab_size - len(vocab))
        special = set(self.info.special_token_ids)
        # Finish mode's preference per token: end the document > close strings/arrays/objects (longest
        # first) > make progress without opening anything (longest first) > open something (model's choice).
        score = torch.zeros(vocab_size)
        for i, b in enumerate(self.token_bytes):
            if not b or i in special:
                continue
            if all(c in CLOSERS for c in b):
                score[i] = 100.0 + len(b)
            elif not any(c in OPENERS or c in NUMBER for c in b):
                score[i] = float(len(b))
        score[self.stop_ids] = 1e4
        self.finish_score = score
        self._bit = torch.arange(32, dtype=torch.int32)
        # xgrammar's JSON strings admit raw control characters, which strict JSON parsers refuse: tokens
        # holding any are masked off (a newline stays allowed around a tool call's JSON).
        self.no_control = self._mask(lambda b: all(0x20 <= c != 0x7F for c in b))
        self.no_control_but_newline = self._mask(lambda b: all(0x20 <= c != 0x7F or c == 0x0A for c in b))

    def _mask(self, ok) -> torch.Tensor:
        flags = [1 if (not b or ok(b)) else 0 for b in self.token_bytes]
        bits = torch.zeros(((self.vocab_size + 31) // 32) * 32, dtype=torch.int64)
        bits[: len(flags)] = torch.tensor(flags, dtype=torch.int64)
        words = (bits.view(-1, 32) << torch.arange(32, dtype=torch.int64)).sum(-1)
        words = torch.where(words >= 2**31, words - 2**32, words)  # as int32 bit patterns
        return words.to(torch.int32).unsqueeze(0)

    def compile(self, spec: dict) -> Any:
        key = constraint_key(spec)
        with self._lock:
            got = self._cache.get(key)
            if got is not None:
                self._cache.move_to_end(key)
                return got
        xgr = self.xgr
        kind = spec.get("type")
        if kind == "json_object":
            compiled = self.compiler.compile_json_schema('{"type": "object"}', any_whitespace=False)
        elif kind == "json_schema":
            compiled = self.compiler.compile_json_schema(json.dumps(spec["schema"]), any_whitespace=False)
        elif kind == "tool_call":
            body = xgr.Grammar.from_json_schema(json.dumps(spec["schema"]), any_whitespace=False)
            grammar = xgr.Grammar.concat(
                xgr.Grammar.from_ebnf('root ::= "<tool_call>\\n"'), body, xgr.Grammar.from_ebnf('root ::= "\\n</tool_call>"')
            )
            compiled = self.compiler.compile_grammar(grammar)
        else:
            raise ValueError(f"unknown constraint type {kind!r}")
        with self._lock:
            self._cache[key] = compiled
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return compiled

    def matcher(self, spec: dict) -> Any:
        return self.xgr.GrammarMatcher(self.compile(spec))

    def token_text(self, t: int) -> tuple[str, list[int]]:
        b = self.token_bytes[t] if 0 <= t < len(self.token_bytes) else b""
        return b.decode("utf-8", errors="replace"), list(b)


@dataclass
class RowHead:
    """Per-sequence decoding extras: a grammar matcher, and the log-probabilities to report."""

    backend: GrammarBackend | None
    constraint: dict | None
    top_logprobs: int | None  # None: no logprobs; 0: the chosen token's; k: and the k most likely
    reserve: int = 0
    matcher: Any = None
    pending: list[dict] = field(default_factory=list)  # entries not yet sent with a piece
    entries: list[dict] = field(default_factory=list)  # every entry, for a non-streaming answer
    _bitmask: Any = None
    _allowed_bytes: Any = None

    def __post_init__(self) -> None:
        if self.constraint is not None:
            if self.backend is None:
                raise ValueError("this engine has no grammar backend")
            self.matcher = self.backend.matcher(self.constraint)
            self._bitmask = self.backend.xgr.allocate_token_bitmask(1, self.backend.vocab_size)
            tool = self.constraint.get("type") == "tool_call"
            self._allowed_bytes = self.backend.no_control_but_newline if tool else self.backend.no_control

    @property
    def constrained(self) -> bool:
        return self.matcher is not None

    def pick(self, logits: torch.Tensor, params: Any, gen: torch.Generator | None, remaining: int, draw) -> int:
        """The next token for this row from its raw logits (1-D), honouring the grammar; `draw(logits,
        params, gen)` samples (temperature, top-p) when params.temperature > 0."""
        temperature = params.temperature
        raw = logits
        if self.matcher is not None:
            logits = logits.float().clone()
            m = self.matcher
            if m.is_terminated():
                t = self.backend.stop_ids[0]
                self._record(raw, t)
                return t
            m.fill_next_token_bitmask(self._bitmask)
            self._bitmask &= self._allowed_bytes
            self.backend.xgr.apply_token_bitmask_inplace(logits, self._bitmask, vocab_size=self.backend.vocab_size)
            t = self._finish_pick(logits) if remaining <= self.reserve else None
            if t is None:
                t = int(logits.argmax()) if temperature <= 0 else draw(logits, params, gen)
            if not m.accept_token(t):  # cannot happen with a correct mask; keep the row going regardless
                t = int(logits.argmax())
                m.accept_token(t)
        else:
            t = int(logits.argmax()) if temperature <= 0 else draw(logits, params, gen)
        self._record(raw, t)
        return t

    def _finish_pick(self, masked: torch.Tensor) -> int | None:
        """Finish mode: the allowed token that brings the document to its end soonest (see module doc);
        among tokens that open a structure (a value must start) the model's most likely one."""
        b = self.backend
        bits = ((self._bitmask[0].unsqueeze(-1) >> b._bit) & 1).reshape(-1)[: b.vocab_size].bool()
        score = torch.where(bits, b.finish_score, torch.full_like(b.finish_score, -1.0))
        best = int(score.argmax())
        if score[best] <= 0:
            return None  # only openers allowed: the model chooses among them
        return best

    def _record(self, raw: torch.Tensor, t: int) -> None:
        if self.top_logprobs is None:
            return
        lp = torch.log_softmax(raw.float(), -1)
        e = self._entry(t, float(lp[t]))
        top = []
        if self.top_logprobs > 0:
            vals, idx = lp.topk(min(self.top_logprobs, lp.shape[-1]))
            top = [self._entry(int(i), float(v)) for v, i in zip(vals.tolist(), idx.tolist(), strict=True)]
        e["top_logprobs"] = top
        self.pending.append(e)
        self.entries.append(e)

    def _entry(self, t: int, lp: float) -> dict:
        if self.backend is not None:
            text, b = self.backend.token_text(t)
        else:
            text, b = str(t), []
        return {"token": text, "logprob": max(lp, -9999.0), "bytes": b, "id": t}

    def drop_last(self) -> None:
        """The last token was a stop token: it is not part of the answer."""
        if self.top_logprobs is not None and self.entries:
            e = self.entries.pop()
            if self.pending and self.pending[-1] is e:
                self.pending.pop()

    def take_pending(self) -> list[dict]:
        out, self.pending = self.pending, []
        return out


def minimal_bytes(spec: dict) -> int:
    """Bytes of the shortest document the constraint admits: an upper bound on the tokens finish mode needs
    from a fresh start (every token is at least one byte)."""
    if spec.get("type") == "json_object":
        return 2
    root = spec.get("schema") or {}
    extra = len("<tool_call>\n\n</tool_call>") if spec.get("type") == "tool_call" else 0

    def walk(s: Any, depth: int) -> int:
        if depth > 12 or not isinstance(s, dict):
            return 8
        if "$ref" in s:
            name = str(s["$ref"]).split("/")[-1]
            return walk((root.get("$defs") or root.get("definitions") or {}).get(name), depth + 1)
        if "const" in s:
            return len(json.dumps(s["const"], ensure_ascii=False).encode())
        if "enum" in s:
            return min(len(json.dumps(v, ensure_ascii=False).encode()) for v in s["enum"]) if s["enum"] else 4
        for key in ("anyOf", "oneOf"):
            if s.get(key):
                return min(walk(x, depth + 1) for x in s[key])
        if s.get("allOf"):
            return max(walk(x, depth + 1) for x in s["allOf"])
        t = s.get("type")
        if isinstance(t, list):
            return min(walk({**s, "type": x}, depth + 1) for x in t) if t else 4
        if t == "object" or "properties" in s:
            props = s.get("properties") or {}
            req = [k for k in s.get("required", []) if k in props]
            return 2 + sum(len(json.dumps(k, ensure_ascii=False).encode()) + 4 + walk(props[k], depth + 1)
                           for k in req)
        if t == "array":
            n = int(s.get("minItems", 0))
            return 2 + n * (walk(s.get("items") or {}, depth + 1) + 2)
        if t == "string":
            return 2 + 3 * int(s.get("minLength", 0))
        if t in ("integer", "number"):
            return 1
        if t == "boolean":
            return 5
        if t == "null":
            return 4
        return 8

    return walk(root, 0) + extra


def make_head(backend: GrammarBackend | None, params: Any) -> RowHead | None:
    """A RowHead when the params ask for a constraint or logprobs; None for plain rows (the fast path)."""
    constraint = getattr(params, "constraint", None)
    top = getattr(params, "logprobs", None)
    if constraint is None and top is None:
        return None
    reserve = 0
    if constraint is not None:
        reserve = int(constraint.get("reserve") or minimal_bytes(constraint) + FINISH_MARGIN)
        reserve = min(reserve, max(4, params.max_new_tokens // 2))
    return RowHead(backend, constraint, top, reserve=reserve)


def prompt_logprobs(model: Any, ids: list[int], top: int, backend: GrammarBackend | None,
                    device: torch.device) -> list[dict]:
    """Log-probabilities of each prompt token given the ones before it (the first has none), then the greedy
    next token's: what `echo` + `logprobs` on /v1/completions returns and lm-evaluation-harness scores."""
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([ids], device=device)).logits[0].float()
    lp = torch.log_softmax(logits, -1)
    head = RowHead(backend, None, top)
    first = head._entry(ids[0], 0.0)
    first.update(logprob=None, top_logprobs=None)
    out: list[dict] = [first]
    for pos in range(1, len(ids) + 1):
        row = lp[pos - 1]
        t = ids[pos] if pos < len(ids) else int(row.argmax())
        e = head._entry(t, float(row[t]))
        e["top_logprobs"] = []
        if top > 0:
            vals, idx = row.topk(min(top, row.shape[-1]))
            e["top_logprobs"] = [head._entry(int(i), float(v)) for v, i in zip(vals.tolist(), idx.tolist(), strict=True)]
        out.append(e)
    return out
