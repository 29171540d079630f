"""The `data` stage: read the configured corpus / SFT / preference / eval files, validate every row
(bad rows to rejects.jsonl with file:line and reason), split a held-out corpus share, write the
stage's JSONL files for the stages after it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from medgo.config.schema import RunConfig
from medgo.data.jsonl import ReadStats, Reject, read_jsonl, write_jsonl, write_rejects
from medgo.data.schemas import validate_corpus, validate_labelled, validate_preference, validate_sft
from medgo.errors import DataError
from medgo.log import console
from medgo.run_dir import file_sha256
from medgo.stage import StageContext, StageResult

NAME = "data"

OUT_FILES = {
    "corpus_train": "corpus.train.jsonl",
    "corpus_heldout": "corpus.heldout.jsonl",
    "sft_train": "sft.train.jsonl",
    "sft_eval": "sft.eval.jsonl",
    "preference": "preference.jsonl",
    "preference_eval": "preference.eval.jsonl",
    "eval_cls": "eval_cls.jsonl",
}


def config_for_hash(cfg: RunConfig) -> Any:
    files = [*cfg.data.corpus, *cfg.data.sft, *cfg.data.preference] + ([cfg.data.eval_cls] if cfg.data.eval_cls else [])
    labels = cfg.eval.classification.labels if cfg.eval.classification else None
    return {
        "data": cfg.data.model_dump(mode="json"),
        "labels": labels,
        "file_hashes": {f: file_sha256(f) for f in files if Path(f).is_file()},
    }


def read_text_documents(path: Path, rejects: list[Reject], stats: ReadStats, min_chars: int) -> list[dict]:
    """A .txt corpus: documents are separated by blank lines."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 ({e.reason})", hint="convert the file to UTF-8") from None
    docs, buf, start = [], [], 1
    lines = text.splitlines()
    for i, line in enumerate([*lines, ""], start=1):
        if line.strip():
            if not buf:
                start = i
            buf.append(line.strip())
        elif buf:
            stats.read += 1
            body = "\n".join(buf)
            if len(body) < min_chars:
                stats.reject("too short")
                rejects.append(Reject(str(path), start, f"too short: {len(body)} < data.min_chars={min_chars}", body))
            else:
                stats.kept += 1
                docs.append({"id": f"{path.stem}-{start}", "text": body, "source": path.name, "_where": f"{path}:{start}"})
            buf = []
    return docs


def _split_key(seed: int, doc_id: str) -> float:
    h = hashlib.sha256(f"{seed}:{doc_id}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


def _read_all(paths: list[str], validate, rejects: list[Reject], key: str) -> tuple[list[dict], ReadStats]:
    """Read every file of one config key; a file with no usable row is an error naming the key and file."""
    rows: list[dict] = []
    stats = ReadStats()
    for n, p in enumerate(paths):
        before, kept = len(rejects), stats.kept
        for i, row in enumerate(read_jsonl(p, validate, rejects, stats)):
            row.setdefault("id", f"{Path(p).stem}-{i}")
            row.setdefault("source", Path(p).stem)
            rows.append(row)
        if stats.kept == kept:
            where = f"data.{key}[{n}]" if key != "eval_cls" else "data.eval_cls"
            mine = rejects[before:]
            if not mine:
                raise DataError(f"{where}: {p} is empty", hint="point the key at a file with rows, or remove it")
            first = mine[0]
            raise DataError(
                f"{where}: {p} has no usable row ({len(mine)} rejected); first: line {first.line}: {first.reason}",
                hint=f"fix the rows to the {key} schema (see README, 'Using a real Qwen2 checkpoint and real data')",
            )
    return rows, stats


def contamination_summary(cfg: RunConfig, out: Path) -> dict[str, Any]:
    """Per training set (corpus, SFT, preference) and per evaluation file: how many evaluation rows share a
    character n-gram with the training set. The corpus numbers are prepare's (before its drop); SFT and
    preference are checked here, after the data stage wrote them (report only: build them decontaminated)."""
    from medgo.data.contamination import check_contamination

    if cfg.data.prepare is None:
        return {}
    cont = cfg.data.prepare.contamination
    evals = [p for p in cont.eval if Path(p).is_file()]
    if not evals:
        return {}
    n = cont.n
    res: dict[str, Any] = {}
    corpus_m = out / "prepare" / "04-contamination" / "contamination.manifest.json"
    if corpus_m.is_file():
        import json

        m = json.loads(corpus_m.read_text(encoding="utf-8"))
        res["corpus"] = {"per_eval": m.get("per_eval", {}), "contaminated_train_rows": m.get("contaminated_train_rows"),
                         "dropped": m.get("dropped")}
    for name, files in (("sft", [OUT_FILES["sft_train"]]), ("preference", [OUT_FILES["preference"]])):
        paths = [out / f for f in files if (out / f).is_file() and (out / f).stat().st_size]
        if not paths:
            continue
        m = check_contamination(paths, evals, out / "contamination" / name, n=n)
        res[name] = {"per_eval": m["per_eval"], "contaminated_train_rows": m["contaminated_train_rows"], "dropped": False}
    return {"ngram": n, "sets": res}


def run(cfg: RunConfig, ctx: StageContext) -> StageResult:
    d = cfg.data
    rejects: list[Reject] = []
    counts: dict[str, Any] = {}

    corpus: list[dict] = []
    cstats = ReadStats()
    corpus_files = list(d.corpus)
    if d.prepare is not None:
        # Clean, filter, dedup, de-identify and decontaminate first; its rejects stay in prepare/*/rejects.jsonl.
        from medgo.data.prepare import prepare_config_for_run, run_prepare

        summary = run_prepare(prepare_config_for_run(cfg, ctx.out / "prepare"))
        counts["prepare"] = {k: summary[k] for k in ("rows_in", "rows_out", "steps", "wall_s")}
        corpus_files = [summary["output"]]
    for p in corpus_files:
        if p.endswith(".txt"):
            corpus += read_text_documents(Path(p), rejects, cstats, d.min_chars)
        else:
            for row in read_jsonl(p, validate_corpus(d.min_chars), rejects, cstats, line_key="_where"):
                row.setdefault("id", f"{Path(p).stem}-{row['_where']}")
                row.setdefault("source", Path(p).stem)
                row["_where"] = f"{p}:{row['_where']}"
                corpus.append(row)
    # Exact duplicates (after whitespace normalisation) would leak between train and held-out.
    seen: dict[str, str] = {}
    unique = []
    for row in corpus:
        key = hashlib.sha1("".join(row["text"].split()).encode()).hexdigest()
        if key in seen:
            cstats.kept -= 1
            cstats.reject("duplicate")
            file, _, line = row.pop("_where").rpartition(":")
            rejects.append(Reject(file, int(line), f"duplicate: same text as an earlier document ({seen[key]})", ""))
            continue
        seen[key] = row["id"]
        row.pop("_where", None)
        unique.append(row)
    corpus = unique
    if not corpus:
        raise DataError(
            f"no usable pre-training documents in data.corpus ({', '.join(d.corpus)})",
            hint=f"see {ctx.out / 'rejects.jsonl'} for why rows were rejected",
        )
    heldout = [r for r in corpus if _split_key(cfg.seed, str(r["id"])) < d.heldout_fraction]
    if not heldout:  # tiny corpora: keep at least one held-out document
        heldout = [min(corpus, key=lambda r: _split_key(cfg.seed, str(r["id"])))]
    held_ids = {id(r) for r in heldout}
    train = [r for r in corpus if id(r) not in held_ids]
    write_jsonl(ctx.out / OUT_FILES["corpus_train"], train)
    write_jsonl(ctx.out / OUT_FILES["corpus_heldout"], heldout)
    counts["corpus"] = {**cstats.__dict__, "train": len(train), "heldout": len(heldout)}
    counts["corpus_chars"] = {"train": sum(len(r["text"]) for r in train), "heldout": sum(len(r["text"]) for r in heldout)}

    for key, files, validate, fraction, (train_file, eval_file) in (
        ("sft", d.sft, validate_sft, d.sft_eval_fraction, ("sft_train", "sft_eval")),
        ("preference", d.preference, validate_preference, d.preference_eval_fraction, ("preference", "preference_eval")),
    ):
        rows, stats = _read_all(files, validate, rejects, key)
        held = [r for r in rows if fraction and _split_key(cfg.seed, str(r["id"])) < fraction]
        held_ids = {id(r) for r in held}
        kept = [r for r in rows if id(r) not in held_ids]
        write_jsonl(ctx.out / OUT_FILES[train_file], kept)
        write_jsonl(ctx.out / OUT_FILES[eval_file], held)
        counts[key] = {**stats.__dict__, "train": len(kept), "eval": len(held)}

    counts["contamination"] = contamination_summary(cfg, ctx.out)

    if d.eval_cls:
        labels = cfg.eval.classification.labels if cfg.eval.classification else None
        cls, estats = _read_all([d.eval_cls], validate_labelled(labels), rejects, "eval_cls")
        write_jsonl(ctx.out / OUT_FILES["eval_cls"], cls)
        counts["eval_cls"] = estats.__dict__

    write_rejects(ctx.out / "rejects.jsonl", rejects)
    total_in = sum(c["read"] for c in counts.values() if isinstance(c, dict) and "read" in c)
    if "prepare" in counts:  # rows removed by prepare count as rejected rows of the run
        removed = counts["prepare"]["rows_in"] - counts["prepare"]["rows_out"]
        total_in += removed
        counts["rejected_by_prepare"] = removed
    total_out = sum(c["kept"] for c in counts.values() if isinstance(c, dict) and "kept" in c)
    n_rejected = len(rejects) + counts.get("rejected_by_prepare", 0)
    counts["rows_in"], counts["rows_out"], counts["rejected"] = total_in, total_out, n_rejected
    assert total_in == total_out + n_rejected, "row accounting broken: in != out + rejected"
    console.print(
        f"data: {total_in} rows in, {total_out} kept, {n_rejected} rejected"
        + (f" (see {ctx.out / 'rejects.jsonl'})" if rejects else "")
        + f"; corpus {len(train)} train / {len(heldout)} held-out docs, {counts['sft']['train']} SFT, {counts['preference']['train']} pairs"
    )
    return StageResult(counts=counts, metrics={"rows_in": total_in, "rows_out": total_out, "rejected": n_rejected})
