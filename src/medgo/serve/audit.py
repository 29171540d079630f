"""Audit log: one JSON line per request (time, key id, route, status, tokens, latency). Any text goes
through the de-identifier first, so no patient identifiers reach disk. A conversation's requests share one
de-identification memory (per API key, for `conversation_ttl_s`): a name found in turn 1 is replaced in
turn 3 too, where it stands without a cue."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

_ID = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)|(?<!\d)\d{15}(?!\d)")
_PHONE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)|(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def _fallback_deid(text: str) -> str:
    """Used only when medgo.data.deid is unavailable: masks ID numbers, phone numbers and e-mails."""
    text = _EMAIL.sub("[邮箱]", text)
    text = _ID.sub("[身份证号]", text)
    return _PHONE.sub("[电话]", text)


def deidentifier(tagger: Path | None = None, terms: list[Path] | None = None) -> Callable[..., str]:
    try:
        from medgo.data.deid import DeidConfig, deidentify
    except ImportError:
        return _fallback_deid
    if tagger is None and not terms:
        return deidentify
    cfg = DeidConfig(tagger=str(tagger) if tagger else None, clinical_terms=[str(t) for t in terms or []])
    # a wrong folder or file fails at start-up, not on the first request
    if cfg.tagger:
        from medgo.data.deid_tagger import load_tagger

        load_tagger(cfg.tagger)
    if cfg.clinical_terms:
        from medgo.data.deid_terms import load_terms

        load_terms(tuple(cfg.clinical_terms))
    return lambda text, **kw: deidentify(text, cfg, **kw)


def _memory_factory() -> Callable[[], object] | None:
    try:
        from medgo.data.deid import DeidMemory
    except ImportError:
        return None
    return DeidMemory


class AuditLog:
    def __init__(
        self, path: Path | None, with_text: bool = True, max_chars: int = 500, conversation_ttl_s: float = 3600.0,
        deid_tagger: Path | None = None, deid_terms: list[Path] | None = None,
    ) -> None:
        self.path = path
        self.with_text = with_text
        self.max_chars = max_chars
        self.conversation_ttl_s = conversation_ttl_s
        self._deid = deidentifier(deid_tagger, deid_terms)
        self._new_memory = _memory_factory()
        self._memories: OrderedDict[str, tuple[float, object]] = OrderedDict()
        self._lock = threading.Lock()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def _memory(self, key_id: str) -> object | None:
        """The de-identification memory of this caller's conversation (at most 1024 callers kept)."""
        if self._new_memory is None:
            return None
        now = time.monotonic()
        hit = self._memories.pop(key_id, None)
        mem = hit[1] if hit is not None and now - hit[0] < self.conversation_ttl_s else self._new_memory()
        self._memories[key_id] = (now, mem)
        while len(self._memories) > 1024:
            self._memories.popitem(last=False)
        return mem

    def clean(self, text: str, memory: object | None = None) -> str:
        # de-identify the whole text, then truncate: a cut must not leave half a name behind unreplaced
        text = text[: 4 * self.max_chars]  # bounded work; what is cut here lies past the kept part anyway
        out = self._deid(text, memory=memory) if memory is not None else self._deid(text)  # type: ignore[call-arg]
        return out[: self.max_chars]

    def write(
        self,
        *,
        key_id: str,
        route: str,
        status: int,
        latency_s: float,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        request_id: str = "",
        prompt: str | None = None,
        response: str | None = None,
        outcome: str | None = None,
    ) -> None:
        if self.path is None:
            return
        row: dict = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "request_id": request_id,
            "key_id": key_id,
            "route": route,
            "status": status,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "latency_ms": round(latency_s * 1000, 1),
        }
        if outcome:
            row["outcome"] = outcome
        with self._lock:
            if self.with_text:
                mem = self._memory(key_id) if (prompt or response) else None
                if prompt is not None:
                    row["prompt"] = self.clean(prompt, mem)
                if response is not None:
                    row["response"] = self.clean(response, mem)
            line = json.dumps(row, ensure_ascii=False) + "\n"
            with self.path.open("a", encoding="utf-8") as f:
                f.write(line)
