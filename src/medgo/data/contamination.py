"""Train/eval contamination: character 13-grams (after dropping whitespace and punctuation) shared between
training rows and evaluation rows. Eval sets are small, so their n-gram hashes are held in memory; training
files are streamed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xxhash

from medgo.data.dedup import dedup_key
from medgo.data.manifest import JsonlWriter, RejectWriter, StepStats, write_manifest
from medgo.data.readers import iter_records


def row_texts(row: Any) -> list[str]:
    """Every string in a row (nested lists/dicts included), except ids and sources."""
    if isinstance(row, str):
        return [row]
    if isinstance(row, dict):
        return [t for k, v in row.items() if k not in ("id", "source", "label", "role") for t in row_texts(v)]
    if isinstance(row, list):
        return [t for v in row for t in row_texts(v)]
    return []


def ngram_hashes(texts: list[str], n: int) -> set[int]:
    out: set[int] = set()
    for t in texts:
        k = dedup_key(t)
        out.update(xxhash.xxh64_intdigest(k[i : i + n].encode("utf-8")) for i in range(len(k) - n + 1))
    return out


def check_contamination(
    train: list[str | Path], evals: list[str | Path], out_dir: str | Path, *, n: int = 13, drop: bool = False,
    min_overlap: int = 1,
) -> dict[str, Any]:
    """Report per eval file how many of its rows share >= `min_overlap` n-grams with any training row; with
    `drop`, write the training rows that touch no eval row to `decontaminated.jsonl` (others are rejected)."""
    out = Path(out_dir)
    index: dict[int, list[tuple[int, int]]] = {}
    eval_rows: list[int] = []
    short: list[int] = []
    for ei, path in enumerate(evals):
        cnt = sh = 0
        for rec in iter_records(path):
            grams = ngram_hashes(row_texts(rec.row), n)
            if not grams:
                sh += 1
            for g in grams:
                index.setdefault(g, []).append((ei, cnt))
            cnt += 1
        eval_rows.append(cnt)
        short.append(sh)
    hit_eval: list[set[int]] = [set() for _ in evals]
    stats = StepStats("contamination")
    contaminated_train = 0
    writer = JsonlWriter(out / "decontaminated.jsonl", stats) if drop else None
    with RejectWriter(out / "contamination.rejects.jsonl", stats) as rej:
        for path in train:
            for rec in iter_records(path, rej, stats):
                hits: dict[tuple[int, int], int] = {}
                for g in ngram_hashes(row_texts(rec.row), n):
                    for key in index.get(g, ()):
                        hits[key] = hits.get(key, 0) + 1
                touched = [k for k, c in hits.items() if c >= min_overlap]
                for ei, ri in touched:
                    hit_eval[ei].add(ri)
                if touched:
                    contaminated_train += 1
                    if writer is not None:
                        ei, ri = touched[0]
                        rej.reject(rec.file, rec.line, f"contaminated: shares {n}-grams with {evals[ei]} row {ri + 1}", "")
                        continue
                if writer is not None:
                    writer.write(rec.row)
                else:
                    stats.rows_out += 1
    if writer is not None:
        writer.close()
    per_eval = {
        str(p): {"rows": eval_rows[i], "contaminated": len(hit_eval[i]), "too_short": short[i],
                 "rate": round(len(hit_eval[i]) / max(1, eval_rows[i]), 4)}
        for i, p in enumerate(evals)
    }
    return write_manifest(out / "contamination.manifest.json", stats, ngram=n, train=[str(p) for p in train],
                          per_eval=per_eval, contaminated_train_rows=contaminated_train, dropped=drop)
