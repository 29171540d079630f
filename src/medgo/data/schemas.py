"""Row validators for the project's JSONL schemas (corpus, SFT messages, preference, labelled eval)."""

from __future__ import annotations

from typing import Any

ROLES = {"system", "user", "assistant"}


def _nonempty_str(row: dict[str, Any], key: str) -> str | None:
    v = row.get(key)
    if not isinstance(v, str):
        return f"missing field: '{key}' must be a string"
    if not v.strip():
        return f"empty field: '{key}' is blank"
    return None


def validate_corpus(min_chars: int = 1):
    def check(row: dict[str, Any]) -> str | None:
        err = _nonempty_str(row, "text")
        if err:
            return err
        if len(row["text"].strip()) < min_chars:
            return f"too short: {len(row['text'].strip())} < data.min_chars={min_chars}"
        return None

    return check


def check_messages(messages: Any, *, final_assistant: bool = True) -> str | None:
    """Roles known, optional leading system, then user/assistant alternating, ending with assistant."""
    if not isinstance(messages, list) or not messages:
        return "missing field: 'messages' must be a non-empty list"
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("content"), str):
            return f"bad message: messages[{i}] needs 'role' and string 'content'"
        if m.get("role") not in ROLES:
            return f"bad role: messages[{i}].role={m.get('role')!r} (expected system/user/assistant)"
        if m["role"] != "system" and not m["content"].strip():
            return f"empty message: messages[{i}] has no content"
    body = messages[1:] if messages[0]["role"] == "system" else messages
    if not body:
        return "no turns: only a system message"
    for i, m in enumerate(body):
        expected = "user" if i % 2 == 0 else "assistant"
        if m["role"] != expected:
            return f"bad alternation: turn {i} is {m['role']!r}, expected {expected!r}"
    if final_assistant and body[-1]["role"] != "assistant":
        return "bad alternation: conversation must end with an assistant message"
    if not final_assistant and body[-1]["role"] != "user":
        return "bad alternation: prompt must end with a user message"
    return None


def validate_sft(row: dict[str, Any]) -> str | None:
    return check_messages(row.get("messages"))


def validate_preference(row: dict[str, Any]) -> str | None:
    if "messages" in row:
        err = check_messages(row["messages"], final_assistant=False)
        if err:
            return err
    elif _nonempty_str(row, "prompt"):
        return "missing field: 'messages' (list) or 'prompt' (string) is required"
    for key in ("chosen", "rejected"):
        err = _nonempty_str(row, key)
        if err:
            return err
    if row["chosen"].strip() == row["rejected"].strip():
        return "identical pair: chosen == rejected"
    return None


def validate_labelled(labels: list[str] | None = None):
    def check(row: dict[str, Any]) -> str | None:
        for key in ("text", "label"):
            err = _nonempty_str(row, key)
            if err:
                return err
        if labels is not None and row["label"] not in labels:
            return f"unknown label: {row['label']!r} not in eval.classification.labels"
        return None

    return check


def prompt_messages(row: dict[str, Any]) -> list[dict[str, str]]:
    """The prompt of a preference row as chat messages (`prompt` strings become one user turn)."""
    if "messages" in row:
        return row["messages"]
    return [{"role": "user", "content": row["prompt"]}]
