"""Audit log: one JSON line per request (time, key id, route, status, tokens, latency). Any text goes
through the de-identifier first, so no patient identifiers reach disk."""

from __future__ import annotations

import json
import re
import threading
import time
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


def deidentifier() -> Callable[[str], str]:
    try:
        from medgo.data.deid import deidentify
    except ImportError:
        return _fallback_deid
    return deidentify


class AuditLog:
    def __init__(self, path: Path | None, with_text: bool = True, max_chars: int = 500) -> None:
        self.path = path
        self.with_text = with_text
        self.max_chars = max_chars
        self._deid = deidentifier()
        self._lock = threading.Lock()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def clean(self, text: str) -> str:
        return self._deid(text[: self.max_chars])

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
        if self.with_text:
            if prompt is not None:
                row["prompt"] = self.clean(prompt)
            if response is not None:
                row["response"] = self.clean(response)
        line = json.dumps(row, ensure_ascii=False) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as f:
            f.write(line)
