"""JSONL I/O with a rejects file: counts in = counts out + rejected, every reject with file:line and reason."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medgo.errors import DataError

Validator = Callable[[dict[str, Any]], str | None]  # returns a reason to reject, or None


@dataclass
class ReadStats:
    read: int = 0
    kept: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def reject(self, reason: str) -> None:
        self.rejected += 1
        key = reason.split(":", 1)[0]
        self.reasons[key] = self.reasons.get(key, 0) + 1


@dataclass
class Reject:
    file: str
    line: int
    reason: str
    raw: str

    def to_json(self) -> str:
        return json.dumps(
            {"where": f"{self.file}:{self.line}", "reason": self.reason, "raw": self.raw[:2000]}, ensure_ascii=False
        )


def read_jsonl(
    path: str | Path,
    validate: Validator | None = None,
    rejects: list[Reject] | None = None,
    stats: ReadStats | None = None,
    line_key: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield valid rows; invalid ones go to `rejects` (never silently dropped). Handles a UTF-8 BOM.

    With `line_key`, each row carries its 1-based line number under that key (for later rejects)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"file not found: {path}")
    stats = stats if stats is not None else ReadStats()
    with path.open("r", encoding="utf-8-sig", errors="strict") as f:
        lineno = 0
        while True:
            try:
                line = f.readline()
            except UnicodeDecodeError as e:
                raise DataError(f"{path}:{lineno + 1}: not UTF-8 ({e.reason})", hint="convert the file to UTF-8") from None
            if not line:
                break
            lineno += 1
            if not line.strip():
                continue
            stats.read += 1
            reason: str | None
            try:
                row = json.loads(line)
                reason = None if isinstance(row, dict) else "not an object: each line must be a JSON object"
            except json.JSONDecodeError as e:
                row, reason = None, f"bad json: {e.msg} at column {e.colno}"
            if reason is None and validate is not None:
                reason = validate(row)
            if reason is not None:
                stats.reject(reason)
                if rejects is not None:
                    rejects.append(Reject(str(path), lineno, reason, line.rstrip("\n")))
                continue
            stats.kept += 1
            if line_key:
                row[line_key] = lineno
            yield row


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def write_rejects(path: str | Path, rejects: list[Reject]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for r in rejects:
            f.write(r.to_json() + "\n")
