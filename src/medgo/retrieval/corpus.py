"""Passage readers for index building: jsonl (corpus schema), txt (one passage a line), csv, tsv."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from medgo.data.jsonl import ReadStats, Reject, read_jsonl
from medgo.errors import DataError

FORMATS = (".jsonl", ".txt", ".csv", ".tsv")


@dataclass(frozen=True)
class Passage:
    id: str
    text: str
    title: str = ""

    @property
    def content(self) -> str:
        """What gets indexed: the title carries strong terms, so it is searched too."""
        return f"{self.title}\n{self.text}" if self.title else self.text


def _validate(row: dict) -> str | None:
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        return "missing text: each row needs a non-empty string field 'text'"
    if "id" in row and not isinstance(row["id"], (str, int)):
        return "bad id: 'id' must be a string or an integer"
    return None


def _from_jsonl(path: Path, rejects: list[Reject]) -> Iterator[Passage]:
    stats = ReadStats()
    for n, row in enumerate(read_jsonl(path, _validate, rejects, stats), 1):
        title = row.get("title")
        yield Passage(
            str(row.get("id", f"{path.stem}:{n}")), row["text"], title if isinstance(title, str) else ""
        )


def _from_txt(path: Path) -> Iterator[Passage]:
    with path.open(encoding="utf-8-sig") as f:
        for lineno, line in enumerate(f, 1):
            if line.strip():
                yield Passage(f"{path.stem}:{lineno}", line.strip())


def _from_csv(path: Path) -> Iterator[Passage]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        cols = reader.fieldnames or []
        if "text" not in cols:
            raise DataError(
                f"{path}: no 'text' column (found: {', '.join(cols) or 'none'})",
                hint="add a header row with 'text' and optionally 'id' and 'title'",
            )
        for lineno, row in enumerate(reader, 2):
            text = (row.get("text") or "").strip()
            if text:
                yield Passage(
                    row.get("id") or f"{path.stem}:{lineno}", text, (row.get("title") or "").strip()
                )


def _from_tsv(path: Path) -> Iterator[Passage]:
    """KUAKE-IR corpus.tsv layout: `pid<TAB>passage`, no header."""
    with path.open(encoding="utf-8-sig") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            pid, sep, text = line.rstrip("\n").partition("\t")
            if not sep or not text.strip():
                raise DataError(f"{path}:{lineno}: expected 'pid<TAB>passage'", hint="one passage per line")
            yield Passage(pid.strip(), text.strip())


def read_passages(paths: Iterable[str | Path], rejects: list[Reject] | None = None) -> list[Passage]:
    """Read every file; ids must be unique across all of them (they are what citations point at)."""
    rejects = rejects if rejects is not None else []
    out: list[Passage] = []
    seen: dict[str, Path] = {}
    for p in map(Path, paths):
        if not p.is_file():
            raise DataError(f"file not found: {p}")
        suffix = p.suffix.lower()
        if suffix == ".jsonl":
            rows: Iterable[Passage] = _from_jsonl(p, rejects)
        elif suffix == ".txt":
            rows = _from_txt(p)
        elif suffix == ".csv":
            rows = _from_csv(p)
        elif suffix == ".tsv":
            rows = _from_tsv(p)
        else:
            raise DataError(
                f"{p}: unsupported format {suffix or '(none)'}", hint=f"use one of {', '.join(FORMATS)}"
            )
        try:
            for row in rows:
                if row.id in seen:
                    raise DataError(
                        f"{p}: duplicate passage id {row.id!r} (first seen in {seen[row.id]})",
                        hint="give every passage a unique 'id'",
                    )
                seen[row.id] = p
                out.append(row)
        except UnicodeDecodeError as e:
            raise DataError(f"{p}: not UTF-8 ({e.reason})", hint="convert the file to UTF-8") from None
    return out
