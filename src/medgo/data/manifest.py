"""Per-step accounting: counts in / out / rejected per reason / deduplicated, bytes, wall time, and a
rejects file written as rows are refused (streamed, so memory stays bounded)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from medgo.data.jsonl import Reject


@dataclass
class StepStats:
    step: str
    rows_in: int = 0
    rows_out: int = 0
    rejected: int = 0
    deduplicated: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    def count_reason(self, reason: str) -> None:
        key = reason.split(":", 1)[0]
        self.reasons[key] = self.reasons.get(key, 0) + 1

    def check(self) -> None:
        # Nothing may be lost silently: every row read is written, rejected or removed as a duplicate.
        if self.rows_in != self.rows_out + self.rejected + self.deduplicated:
            raise AssertionError(
                f"{self.step}: row accounting broken: in={self.rows_in} != out={self.rows_out} "
                f"+ rejected={self.rejected} + deduplicated={self.deduplicated}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "rejected": self.rejected,
            "deduplicated": self.deduplicated,
            "reasons": dict(sorted(self.reasons.items())),
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "wall_s": round(time.perf_counter() - self.started, 3),
            **self.extra,
        }

    def summary(self) -> str:
        s = f"{self.step}: {self.rows_in} in, {self.rows_out} out, {self.rejected} rejected"
        if self.deduplicated:
            s += f", {self.deduplicated} duplicates"
        return s + f" ({time.perf_counter() - self.started:.1f}s)"


class RejectWriter:
    """Streams rejects to `path` as JSONL ({where, reason, raw}) and counts them into `stats`."""

    def __init__(self, path: str | Path, stats: StepStats, *, dedup: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.stats = stats
        self._f: IO[str] = self.path.open("w", encoding="utf-8")

    def reject(self, file: str, line: int, reason: str, raw: str = "", *, duplicate: bool = False) -> None:
        if duplicate:
            self.stats.deduplicated += 1
        else:
            self.stats.rejected += 1
        self.stats.count_reason(reason)
        raw = raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")  # bad bytes shown as U+FFFD
        self._f.write(Reject(file, line, reason, raw).to_json() + "\n")

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> RejectWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class JsonlWriter:
    """Streaming JSONL writer that counts rows and bytes into `stats`."""

    def __init__(self, path: str | Path, stats: StepStats | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.stats = stats
        self.n = 0
        self._f: IO[str] = self.path.open("w", encoding="utf-8")

    def write(self, row: dict[str, Any]) -> None:
        line = json.dumps(row, ensure_ascii=False) + "\n"
        self._f.write(line)
        self.n += 1
        if self.stats is not None:
            self.stats.rows_out += 1
            self.stats.bytes_out += len(line.encode("utf-8"))

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_manifest(path: str | Path, stats: StepStats, **extra: Any) -> dict[str, Any]:
    stats.check()
    data = {**stats.to_dict(), **extra}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return data
