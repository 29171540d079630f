"""Reranking on the shared-data retrieval benchmarks: BM25 (bigram) top-k re-ordered by a medgo model's
log-likelihood that the passage answers the question, vs BM25 alone on the same queries.

    MEDGO_DATA=../shared/data python benchmarks/retrieval/rerank.py --model runs/demo --queries 100
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import time
from pathlib import Path

from medgo.inference.hf import HFEngine
from medgo.inference.registry import resolve_model
from medgo.retrieval import Index, loglikelihood_scorer, mrr_at_k, recall_at_k, rerank
from medgo.retrieval.benchsets import load_cmedqa, load_dialogue


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("MEDGO_DATA", "../shared/data"))
    ap.add_argument("--model", required=True, help="run folder or model folder")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--top", type=int, default=20, help="BM25 candidates reranked")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(Path(__file__).with_name("results.json")))
    a = ap.parse_args()
    corpora = Path(a.data) / "corpora"
    sets = {
        "dialogue_内科": lambda: load_dialogue(corpora / "Chinese-medical-dialogue-data" / "样例_内科5000-6000.csv.utf8"),
        "cmedqa": lambda: load_cmedqa([corpora / "ChineseBLUE/data/cMedQA" / f for f in ("dev.txt", "test.txt")]),
    }
    model_dir = resolve_model(Path(a.model)).model_dir
    engine = HFEngine.from_path(model_dir, batch_size=16)
    scorer = loglikelihood_scorer(lambda reqs: [s for s, _ in engine.loglikelihood(reqs)])
    out: dict = {}
    for name, load in sets.items():
        passages, queries, qrels = load()
        index = Index.build(passages, method="bm25", tokenizer="bigram")
        qids = sorted(queries)
        random.Random(a.seed).shuffle(qids)
        qids = qids[: a.queries]
        m = {"bm25": {"mrr@10": [], "recall@10": []}, "bm25+rerank": {"mrr@10": [], "recall@10": []}}
        t0 = time.time()
        for q in qids:
            hits = index.search(queries[q], a.top)
            for label, ranked in (("bm25", hits), ("bm25+rerank", rerank(queries[q], hits, scorer))):
                ids = [h.id for h in ranked]
                m[label]["mrr@10"].append(mrr_at_k(ids, qrels[q], 10))
                m[label]["recall@10"].append(recall_at_k(ids, qrels[q], 10))
        out[name] = {
            label: {k: round(statistics.mean(v), 4) for k, v in vals.items()} for label, vals in m.items()
        }
        out[name]["queries"] = len(qids)
        out[name]["rerank_seconds_per_query"] = round((time.time() - t0) / len(qids), 3)
        print(name, json.dumps(out[name], ensure_ascii=False))
    res = json.loads(Path(a.out).read_text(encoding="utf-8"))
    res.pop("not_measured", None)
    res["reranked"] = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "command": f"python benchmarks/retrieval/rerank.py --model {a.model} --queries {a.queries} --top {a.top}",
        "model": str(model_dir),
        "top_k_reranked": a.top,
        "sets": out,
        "note": "one run (deterministic); the scorer is the demo model (0.9M parameters, synthetic data)",
    }
    Path(a.out).write_text(json.dumps(res, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
