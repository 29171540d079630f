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


@app.command()
def build(
    files: list[Path] = InFiles,
    out: Path = typer.Option(..., "--out", help="index directory to write (replaced if it is an index)"),
    method: str = typer.Option("bm25", "--method", help="bm25 | dense | hybrid (RRF of both)"),
    tokenizer: str = typer.Option("bigram", "--tokenizer", help="BM25 tokenisation: bigram | jieba"),
    model: Path | None = typer.Option(
        None, "--model", help="local sentence-transformers dir (dense, hybrid)"
    ),
) -> None:
    """Index passage files into OUT."""
    from medgo.retrieval import build_index

    try:
        index = build_index(
            files, out, method=method, tokenizer=tokenizer, model=str(model) if model else None
        )
    except MedgoError as e:
        raise _fail(e) from None
    console.print(f"[bold green]indexed[/] {len(index)} passages ({method}, {tokenizer}) → {out}")


@app.command()
def add(
    index_dir: Path = typer.Argument(..., help="an existing index directory"),
    files: list[Path] = InFiles,
) -> None:
    """Append passages to an existing index (ids must be new)."""
    from medgo.retrieval import build_index

    try:
        index = build_index(files, index_dir, add=True)
    except MedgoError as e:
        raise _fail(e) from None
    console.print(f"[bold green]index now holds[/] {len(index)} passages → {index_dir}")


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
