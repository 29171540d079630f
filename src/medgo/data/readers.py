"""Streaming readers for txt / jsonl / json / csv / tsv / parquet with per-file encoding detection.

Every record is yielded with its file and line so a later refusal can name where it came from; rows that
cannot be parsed (bad JSON, bad bytes, ragged CSV) go to the rejects file instead of stopping the run.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medgo.config.data_prep import TxtMode
from medgo.data.manifest import RejectWriter, StepStats
from medgo.errors import DataError

FORMATS = ("txt", "jsonl", "json", "csv", "tsv", "parquet")
_SAMPLE = 1 << 16
# A paragraph is cut into pieces beyond this many characters, so one huge "paragraph" cannot hold RAM.
MAX_PARAGRAPH_CHARS = 1 << 20

csv.field_size_limit(min(sys.maxsize, 1 << 30))  # allow very long cells (10 MB single-line documents)


@dataclass
class Record:
    row: dict[str, Any]
    file: str
    line: int
    nbytes: int


def detect_format(path: Path) -> str:
    name = path.name.lower().removesuffix(".utf8")  # the shared corpora keep "x.csv.utf8" beside "x.csv"
    ext = name.rsplit(".", 1)[-1] if "." in name else "txt"
    if ext == "ndjson":
        return "jsonl"
    return ext if ext in FORMATS else "txt"


def _looks_binary(text: str) -> bool:
    if not text:
        return False
    ctrl = sum(1 for c in text if ord(c) < 32 and c not in "\n\r\t\f")
    return ctrl / len(text) > 0.05


def detect_encoding(path: str | Path) -> str:
    """UTF-8 (with or without BOM), UTF-16 (BOM or NUL pattern), GB18030 (superset of GBK/GB2312), else
    charset-normalizer's best guess. Raises DataError for files that look binary."""
    path = Path(path)
    with path.open("rb") as f:
        head = f.read(_SAMPLE)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    final = len(head) < _SAMPLE  # the sample may end mid-character
    utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(head, final=final)
    # Count undecodable bytes, not U+FFFD characters that the file itself holds (model output often has them).
    bad = utf8.count("\ufffd") - head.count("\ufffd".encode())
    if bad <= max(2, len(utf8) // 1000):
        # valid UTF-8 (a few bad bytes are rejected line by line later) is a strong signal on its own
        if _looks_binary(utf8):
            raise DataError(f"{path}: looks like a binary file, not text", hint="pass text, JSONL, CSV or parquet files")
        return "utf-8"
    best, best_score = None, 0.0
    for enc in ("gb18030", "utf-16-le", "utf-16-be"):
        try:
            text = codecs.getincrementaldecoder(enc)(errors="strict").decode(head[: len(head) // 2 * 2] if "16" in enc
                                                                              else head, final=final)
        except UnicodeDecodeError:
            continue
        score = _plausible(text)
        if score > best_score:
            best, best_score = enc, score
    if best is not None and best_score > 0.9:
        return best
    from charset_normalizer import from_bytes

    guess = from_bytes(head).best()
    if guess is None or _looks_binary(str(guess)) or _plausible(str(guess)) < 0.9:
        raise DataError(
            f"{path}: cannot detect the text encoding (not UTF-8/UTF-16/GB18030) or the file is binary",
            hint="convert the file to UTF-8 (e.g. iconv -f GBK -t UTF-8)",
        )
    return guess.encoding


def _plausible(text: str) -> float:
    """Share of characters typical of Chinese/English text: common CJK, ASCII, CJK punctuation."""
    if not text:
        return 0.0
    ok = sum(1 for c in text if c.isascii() and (c.isprintable() or c in "\n\r\t") or "\u4e00" <= c <= "\u9fff"
             or "\u3000" <= c <= "\u303f" or "\uff00" <= c <= "\uffef")
    return ok / len(text)


def _bad_bytes(s: str) -> bool:
    # surrogateescape maps undecodable bytes to U+DC80..U+DCFF
    return any("\udc80" <= c <= "\udcff" for c in s)


def iter_records(
    path: str | Path,
    rejects: RejectWriter | None = None,
    stats: StepStats | None = None,
    *,
    fmt: str | None = None,
    encoding: str | None = None,
    txt_mode: TxtMode = "paragraph",
    text_field: str = "text",
    columns: list[str] | None = None,
) -> Iterator[Record]:
    """Yield parsed rows of one file; unparsable rows are counted in `stats.rows_in` and rejected."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"file not found: {path}", hint="check the --in / sources paths")
    fmt = fmt or detect_format(path)
    if fmt == "parquet":
        yield from _iter_parquet(path, stats)
        return
    enc = encoding or detect_encoding(path)
    if stats is not None:
        stats.extra.setdefault("encodings", {})[str(path)] = enc
    with path.open("r", encoding=enc, errors="surrogateescape", newline="") as f:
        if fmt == "jsonl":
            gen = _iter_jsonl(f, str(path))
        elif fmt == "json":
            gen = _iter_json(f, str(path), text_field)
        elif fmt in ("csv", "tsv"):
            gen = _iter_csv(f, str(path), "\t" if fmt == "tsv" else ",", columns)
        else:
            gen = _iter_txt(f, str(path), txt_mode, text_field)
        for item in gen:
            if stats is not None:
                stats.rows_in += 1
                stats.bytes_in += item[2]
            row, line, nbytes, err = item
            if err is not None:
                if rejects is not None:
                    rejects.reject(str(path), line, err[0], err[1])
                elif stats is not None:
                    stats.rejected += 1
                    stats.count_reason(err[0])
                continue
            assert row is not None
            yield Record(row, str(path), line, nbytes)


_Item = tuple[dict[str, Any] | None, int, int, tuple[str, str] | None]


def _iter_jsonl(f, name: str) -> Iterator[_Item]:
    for lineno, line in enumerate(f, start=1):
        if not line.strip():
            continue
        nbytes = len(line.encode("utf-8", errors="surrogateescape"))
        if _bad_bytes(line):
            yield None, lineno, nbytes, ("bad encoding: undecodable bytes", line[:2000])
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            yield None, lineno, nbytes, (f"bad json: {e.msg} at column {e.colno}", line[:2000])
            continue
        if not isinstance(row, dict):
            yield None, lineno, nbytes, ("bad json: line is not an object", line[:2000])
            continue
        yield row, lineno, nbytes, None


def _iter_json(f, name: str, text_field: str) -> Iterator[_Item]:
    # A JSON document is parsed whole (arrays cannot be streamed with the stdlib); use JSONL for big data.
    raw = f.read()
    if _bad_bytes(raw):
        yield None, 1, len(raw), ("bad encoding: undecodable bytes", raw[:2000])
        return
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as e:
        if e.msg == "Extra data":  # JSON Lines saved as .json (common in CBLUE/ChineseBLUE)
            yield from _iter_jsonl(io.StringIO(raw), name)
            return
        yield None, e.lineno, len(raw.encode("utf-8")), (f"bad json: {e.msg} at line {e.lineno}", raw[:2000])
        return
    items = data if isinstance(data, list) else [data]
    for i, row in enumerate(items, start=1):
        nbytes = len(json.dumps(row, ensure_ascii=False).encode("utf-8"))
        if isinstance(row, str):  # an array of documents, e.g. drug monographs
            yield {text_field: row}, i, nbytes, None
        elif not isinstance(row, dict):
            yield None, i, nbytes, ("bad json: item is not an object", str(row)[:2000])
        else:
            yield row, i, nbytes, None


def _iter_csv(f, name: str, delimiter: str, columns: list[str] | None) -> Iterator[_Item]:
    reader = csv.reader(f, delimiter=delimiter)
    header = columns
    prev = 0
    for cells in reader:
        lineno, nbytes = prev + 1, sum(len(c) for c in cells)
        prev = reader.line_num
        if header is None:
            header = [c.strip().lstrip("\ufeff") for c in cells]
            continue
        if not any(c.strip() for c in cells):
            continue
        raw = delimiter.join(cells)
        if _bad_bytes(raw):
            yield None, lineno, nbytes, ("bad encoding: undecodable bytes", raw[:2000])
        elif len(cells) != len(header):
            yield None, lineno, nbytes, (f"bad csv: {len(cells)} fields, header has {len(header)}", raw[:2000])
        else:
            yield dict(zip(header, cells, strict=True)), lineno, nbytes, None


def _iter_txt(f, name: str, mode: TxtMode, text_field: str) -> Iterator[_Item]:
    def item(text: str, lineno: int) -> _Item:
        nbytes = len(text.encode("utf-8", errors="surrogateescape"))
        if _bad_bytes(text):
            return None, lineno, nbytes, ("bad encoding: undecodable bytes", text[:2000])
        return {text_field: text}, lineno, nbytes, None

    if mode == "file":
        yield item(f.read(), 1)
        return
    buf: list[str] = []
    size, start = 0, 1
    for lineno, line in enumerate(f, start=1):
        line = line.rstrip("\r\n")
        if mode == "line":
            if line.strip():
                yield item(line, lineno)
            continue
        if line.strip():
            if not buf:
                start = lineno
            buf.append(line)
            size += len(line)
            if size < MAX_PARAGRAPH_CHARS:
                continue
        if buf:
            yield item("\n".join(buf), start)
            buf, size = [], 0
    if buf:
        yield item("\n".join(buf), start)


def _iter_parquet(path: Path, stats: StepStats | None) -> Iterator[Record]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises several types for corrupt files
        raise DataError(f"{path}: not a readable parquet file ({e})", hint="check the file or its extension") from None
    i = 0
    for batch in pf.iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            i += 1
            nbytes = sum(len(v.encode("utf-8")) for v in row.values() if isinstance(v, str))
            if stats is not None:
                stats.rows_in += 1
                stats.bytes_in += nbytes
            yield Record(row, str(path), i, nbytes)
