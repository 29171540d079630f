"""The corpus steps as streaming file-to-file functions: clean (+filters), dedup, deid. Each writes
`<name>.jsonl`, `<name>.rejects.jsonl` and `<name>.manifest.json` into the output folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TransferSpeedColumn

from medgo.data.clean import normalize_text
from medgo.data.dedup import DedupConfig, Deduper
from medgo.data.deid import DeidConfig, deidentify
from medgo.data.filters import FilterConfig, apply_filters, build_filters
from medgo.data.manifest import JsonlWriter, RejectWriter, StepStats, write_manifest
from medgo.data.readers import Record, TxtMode, iter_records
from medgo.errors import DataError
from medgo.log import console


def _progress(total_bytes: int) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), TransferSpeedColumn(), TimeElapsedColumn(),
        console=console, transient=True, disable=total_bytes < 5_000_000,  # quiet for small inputs and tests
    )


def _records(
    paths: list[str | Path], rej: RejectWriter, stats: StepStats, desc: str, **kw: Any
) -> Iterator[Record]:
    paths = [Path(p) for p in paths]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise DataError(f"input file not found: {', '.join(missing)}", hint="check the --in paths")
    total = sum(p.stat().st_size for p in paths)
    with _progress(total) as prog:
        task = prog.add_task(desc, total=total)
        for p in paths:
            done = 0
            for rec in iter_records(p, rej, stats, **kw):
                done += rec.nbytes
                prog.update(task, advance=rec.nbytes)
                yield rec
            prog.update(task, completed=sum(x.stat().st_size for x in paths[: paths.index(p) + 1]))


def _text_of(rec: Record, field: str, rej: RejectWriter) -> str | None:
    v = rec.row.get(field)
    if not isinstance(v, str):
        rej.reject(rec.file, rec.line, f"missing field: '{field}' must be a string", str(rec.row)[:2000])
        return None
    return v


def clean_files(
    inputs: list[str | Path], out_dir: str | Path, *, filters: FilterConfig | None = None, field: str = "text",
    txt_mode: TxtMode = "paragraph", name: str = "clean",
) -> dict[str, Any]:
    """Normalise text and apply quality filters; every other field of a row is kept, `id`/`source` added."""
    out = Path(out_dir)
    stats = StepStats(name)
    fs = build_filters(filters or FilterConfig())
    with JsonlWriter(out / f"{name}.jsonl", stats) as w, RejectWriter(out / f"{name}.rejects.jsonl", stats) as rej:
        for rec in _records(inputs, rej, stats, name, txt_mode=txt_mode, text_field=field):
            text = _text_of(rec, field, rej)
            if text is None:
                continue
            if len(text) > 50 * (filters or FilterConfig()).max_chars:  # don't normalise a huge blob just to drop it
                rej.reject(rec.file, rec.line, f"too long: {len(text)} chars", text[:200])
                continue
            text = normalize_text(text)
            reason = apply_filters(text, fs)
            if reason:
                rej.reject(rec.file, rec.line, reason, text[:2000])
                continue
            row = dict(rec.row)
            row[field] = text
            row.setdefault("id", f"{Path(rec.file).stem}-{rec.line}")
            row.setdefault("source", Path(rec.file).name)
            w.write(row)
    return write_manifest(out / f"{name}.manifest.json", stats, inputs=[str(p) for p in inputs], filters=(filters or FilterConfig()).model_dump())


def dedup_files(
    inputs: list[str | Path], out_dir: str | Path, *, cfg: DedupConfig | None = None, field: str = "text",
    name: str = "dedup",
) -> dict[str, Any]:
    """Exact then near dedup across all inputs in order; the first occurrence is kept."""
    cfg = cfg or DedupConfig()
    out = Path(out_dir)
    stats = StepStats(name)
    d = Deduper(cfg, workdir=out)
    try:
        with JsonlWriter(out / f"{name}.jsonl", stats) as w, RejectWriter(out / f"{name}.rejects.jsonl", stats) as rej:
            for rec in _records(inputs, rej, stats, name, text_field=field):
                text = _text_of(rec, field, rej)
                if text is None:
                    continue
                reason = d.check(f"{rec.file}:{rec.line}", text)
                if reason:
                    rej.reject(rec.file, rec.line, reason, text[:500], duplicate=True)
                else:
                    w.write(rec.row)
    finally:
        d.close()
    stats.extra["duplicates"] = {"exact": d.n_exact, "near": d.n_near,
                                 "rate": round(stats.deduplicated / max(1, stats.rows_in), 4)}
    return write_manifest(out / f"{name}.manifest.json", stats, inputs=[str(p) for p in inputs], dedup=cfg.model_dump())


def deid_file(
    inputs: list[str | Path], out_path: str | Path, *, cfg: DeidConfig | None = None, fields: list[str] | None = None,
) -> dict[str, Any]:
    """De-identify the given string fields (default `text`, or every message content of SFT rows);
    every other field is kept unchanged."""
    cfg = cfg or DeidConfig()
    out = Path(out_path)
    stem = out.name.removesuffix(".jsonl")
    stats = StepStats("deid")
    fields = fields or ["text"]
    tagger = None
    if cfg.tagger:
        from medgo.data.deid_tagger import load_tagger

        tagger = load_tagger(cfg.tagger, cfg.tagger_threshold)

    def batched(recs: Any) -> Any:
        """Records in groups of 64, their texts tagged in one batch first when a learned tagger is on."""
        buf: list[Any] = []
        for rec in recs:
            buf.append(rec)
            if len(buf) == 64:
                yield from _prefetched(buf)
                buf = []
        yield from _prefetched(buf)

    def _prefetched(buf: list[Any]) -> list[Any]:
        if tagger is not None and buf:
            texts = [r.row[f] for r in buf for f in fields if isinstance(r.row.get(f), str)]
            texts += [m["content"] for r in buf if isinstance(r.row.get("messages"), list) for m in r.row["messages"]
                      if isinstance(m, dict) and isinstance(m.get("content"), str)]
            tagger.prefetch(texts)
        return buf

    with JsonlWriter(out, stats) as w, RejectWriter(out.with_name(f"{stem}.rejects.jsonl"), stats) as rej:
        for rec in batched(_records(inputs, rej, stats, "deid", text_field=fields[0])):
            row, key = dict(rec.row), str(rec.row.get("id", f"{rec.file}:{rec.line}"))
            touched = False
            for f in fields:
                if isinstance(row.get(f), str):
                    row[f] = deidentify(row[f], cfg, doc_key=key)
                    touched = True
            if isinstance(row.get("messages"), list):
                row["messages"] = [
                    {**m, "content": deidentify(m["content"], cfg, doc_key=key)}
                    if isinstance(m, dict) and isinstance(m.get("content"), str) else m
                    for m in row["messages"]
                ]
                touched = True
            if not touched:
                rej.reject(rec.file, rec.line, f"missing field: none of {fields} is a string", str(rec.row)[:2000])
                continue
            w.write(row)
    return write_manifest(out.with_name(f"{stem}.manifest.json"), stats, inputs=[str(p) for p in inputs],
                          deid=cfg.model_dump(exclude={"secret"}))
