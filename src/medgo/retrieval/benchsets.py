"""Retrieval benchmarks built from shared data, read by path (never copied): (passages, queries, qrels).

- dialogue: the 内科 set of Chinese-medical-dialogue-data; a patient's title + question must find its own
  doctor's answer among all answers (answers identical in text are one passage, relevant to all their asks).
- cmedqa: ChineseBLUE cMedQA `label<TAB>question<TAB>answer`; each question with a correct answer must find
  it among every distinct answer of the split(s) (a harder pool than its own 5-7 candidates).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from medgo.errors import DataError
from medgo.retrieval.corpus import Passage

Bench = tuple[list[Passage], dict[str, str], dict[str, dict[str, int]]]


def _pooled(pairs: Sequence[tuple[str, str, bool]], prefix: str) -> Bench:
    """pairs of (query, answer, relevant) -> deduplicated answer passages, queries and qrels."""
    pid_of: dict[str, str] = {}
    qid_of: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    for query, answer, relevant in pairs:
        pid = pid_of.setdefault(answer, f"{prefix}a{len(pid_of)}")
        if relevant:
            qid = qid_of.setdefault(query, f"{prefix}q{len(qid_of)}")
            qrels.setdefault(qid, {})[pid] = 1
    passages = [Passage(pid, text) for text, pid in pid_of.items()]
    return passages, {qid: q for q, qid in qid_of.items()}, qrels


def load_dialogue(path: str | Path) -> Bench:
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"file not found: {path}", hint="point at 样例_内科5000-6000.csv.utf8 under shared/data"
        )
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        need = {"title", "ask", "answer"}
        if not need <= set(reader.fieldnames or []):
            raise DataError(f"{path}: needs columns {sorted(need)}, found {reader.fieldnames}")
        pairs = [
            (f"{r['title'].strip()} {r['ask'].strip()}", r["answer"].strip(), True)
            for r in reader
            if r["ask"].strip() and r["answer"].strip()
        ]
    return _pooled(pairs, "d")


def load_cmedqa(paths: Sequence[str | Path]) -> Bench:
    pairs = []
    for p in map(Path, paths):
        if not p.is_file():
            raise DataError(f"file not found: {p}", hint="point at ChineseBLUE/data/cMedQA/{dev,test}.txt")
        with p.open(encoding="utf-8-sig") as f:
            for n, line in enumerate(f, 1):
                cols = line.rstrip("\n").split("\t")
                if len(cols) != 3 or cols[0] not in ("0", "1"):
                    raise DataError(f"{p}:{n}: expected 'label<TAB>question<TAB>answer'")
                pairs.append((cols[1].strip(), cols[2].strip(), cols[0] == "1"))
    return _pooled(pairs, "c")


def split_queries(qids: Sequence[str], dev: int, test: int | None = None, seed: int = 0) -> tuple[list, list]:
    """A seeded, disjoint (dev, test) split of query ids: defaults are tuned on dev, reported on test.
    `test=None` puts every query not in dev into test."""
    import random

    order = sorted(qids)
    random.Random(seed).shuffle(order)
    d = order[:dev]
    t = order[dev:] if test is None else order[dev : dev + test]
    return sorted(d), sorted(t)
