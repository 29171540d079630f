"""KUAKE-IR (CBLUE) in its published layout: corpus.tsv `pid\\tpassage`, queries `qid\\tquery`, qrels.

qrels lines may be `qid\\tpid` (KUAKE-IR), `qid\\tpid\\tgrade`, or TREC `qid 0 pid grade`.
"""

from __future__ import annotations

from pathlib import Path

from medgo.errors import DataError
from medgo.retrieval.corpus import Passage, read_passages


def _lines(path: Path) -> list[tuple[int, list[str]]]:
    if not path.is_file():
        raise DataError(f"file not found: {path}")
    with path.open(encoding="utf-8-sig") as f:
        return [(n, line.rstrip("\n").split("\t")) for n, line in enumerate(f, 1) if line.strip()]


def load_queries(path: str | Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for n, cols in _lines(Path(path)):
        if len(cols) < 2 or not cols[1].strip():
            raise DataError(f"{path}:{n}: expected 'qid<TAB>query'", hint="one query per line")
        out[cols[0].strip()] = cols[1].strip()
    return out


def load_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for n, cols in _lines(Path(path)):
        cols = [c.strip() for c in cols] if len(cols) > 1 else cols[0].split()
        try:
            if len(cols) == 2:
                qid, pid, grade = cols[0], cols[1], 1
            elif len(cols) == 3:
                qid, pid, grade = cols[0], cols[1], int(cols[2])
            elif len(cols) == 4:
                qid, pid, grade = cols[0], cols[2], int(cols[3])
            else:
                raise ValueError
        except ValueError:
            raise DataError(
                f"{path}:{n}: expected 'qid<TAB>pid' (or 'qid 0 pid grade')", hint="fix that line"
            ) from None
        out.setdefault(qid, {})[pid] = grade
    return out


def load_kuake_ir(
    data_dir: str | Path, split: str = "dev"
) -> tuple[list[Passage], dict[str, str], dict[str, dict[str, int]]]:
    """Return (passages, queries, qrels) for `split`; qrels naming an unknown pid or qid are refused."""
    d = Path(data_dir)
    passages = read_passages([d / "corpus.tsv"])
    queries = load_queries(d / f"{split}.query.txt")
    qrels = load_qrels(d / f"qrels.{split}.tsv")
    pids = {p.id for p in passages}
    for qid, rel in qrels.items():
        if qid not in queries:
            raise DataError(
                f"{d / f'qrels.{split}.tsv'}: qid {qid!r} has no query", hint="check the split files"
            )
        missing = [p for p in rel if p not in pids]
        if missing:
            raise DataError(
                f"{d / f'qrels.{split}.tsv'}: pid {missing[0]!r} is not in corpus.tsv",
                hint="use the corpus.tsv of the same release",
            )
    return passages, queries, qrels
