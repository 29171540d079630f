"""Mixing several JSONL sources by weight (share of the output) or by a target token count per source.
Two streaming passes: count each source, then keep each row with a deterministic per-row probability
(whole repeats when a source must be up-sampled). The manifest records what went in from each source."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from medgo.config.data_prep import MixSource
from medgo.data.manifest import JsonlWriter, RejectWriter, StepStats, write_manifest
from medgo.data.readers import iter_records
from medgo.errors import ConfigError


def row_tokens(row: dict[str, Any]) -> int:
    """Cheap token estimate: characters of all text (~1 token per 1-1.5 Chinese chars for Qwen-like BPEs)."""
    if isinstance(row.get("text"), str):
        return len(row["text"])
    if isinstance(row.get("messages"), list):
        return sum(len(str(m.get("content", ""))) for m in row["messages"] if isinstance(m, dict))
    return sum(len(v) for v in row.values() if isinstance(v, str))


def _u(seed: int, key: str) -> float:
    return int.from_bytes(hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest(), "big") / 2**64


def mix(
    sources: list[MixSource], out_path: str | Path, *, total_tokens: int | None = None, seed: int = 0,
    count: Callable[[dict[str, Any]], int] = row_tokens,
) -> dict[str, Any]:
    if not sources:
        raise ConfigError("mix: no sources", hint="give at least one source with weight or tokens")
    out = Path(out_path)
    stem = out.name.removesuffix(".jsonl")
    avail: list[int] = []
    for s in sources:
        avail.append(sum(count(r.row) for r in iter_records(s.path)))
    if any(s.weight is not None for s in sources):
        if total_tokens is None:
            total_tokens = sum(avail)  # weights alone: keep the output as large as the input
        wsum = sum(s.weight or 0 for s in sources)
    targets = [s.tokens if s.tokens is not None else int(total_tokens * (s.weight or 0) / wsum) for s in sources]
    stats = StepStats("mix")
    per_source: dict[str, Any] = {}
    with JsonlWriter(out, stats) as w, RejectWriter(out.with_name(f"{stem}.rejects.jsonl"), stats) as rej:
        for s, a, t in zip(sources, avail, targets, strict=True):
            ratio = t / a if a else 0.0
            whole, frac = int(ratio), ratio - int(ratio)
            taken_rows = taken_tok = skipped = 0
            for rec in iter_records(s.path, rej, stats):
                copies = whole + (_u(seed, f"{s.path}:{rec.line}") < frac)
                if copies == 0:
                    skipped += 1
                    stats.deduplicated += 1  # sampled out: accounted, not an error (see per_source)
                    continue
                for c in range(copies):
                    row = dict(rec.row)
                    row.setdefault("source", s.name or Path(s.path).stem)
                    if c:
                        row["id"] = f"{row.get('id', rec.line)}#r{c}"
                    w.write(row)
                taken_rows += 1
                taken_tok += copies * count(rec.row)
            per_source[s.name or s.path] = {"available_tokens": a, "target_tokens": t, "taken_tokens": taken_tok,
                                            "ratio": round(ratio, 4), "rows_taken": taken_rows, "rows_sampled_out": skipped}
    # rows_out counts written rows including repeats; the accounting counts input rows, so repeats go apart
    repeats = w.n - sum(p["rows_taken"] for p in per_source.values())
    stats.rows_out -= repeats
    stats.extra.update(rows_written=w.n, repeats=repeats, per_source=per_source)
    manifest = write_manifest(out.with_name(f"{stem}.manifest.json"), stats, seed=seed, sources=[json.loads(s.model_dump_json()) for s in sources])
    return manifest
