"""Print results.json as the README's markdown tables: python benchmarks/retrieval/table.py [results.json]"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def med(x: dict | None, fmt: str = "{:.2f}") -> str:
    return fmt.format(x["median"]) if x else "–"


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("results.json"))
    r = json.loads(path.read_text(encoding="utf-8"))
    print(f"{r['date']}, {r['machine']['cpu']}, {r['machine']['cpus']} shared cores; `{r['command']}`\n")
    print("| set (test queries) | method | MRR@10 | R@10 | nDCG@10 | R@1 | p50 ms | p95 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for name, d in r["datasets"].items():
        label = f"{name} ({d['passages']:,} passages, {d['queries_test']} q)"
        for m, v in d["methods"].items():
            print(
                f"| {label} | {m} | {v['mrr@10']:.3f} | {v['recall@10']:.3f} | {v['ndcg@10']:.3f} | "
                f"{v['recall@1']:.3f} | {med(v['latency_ms_p50'])} | {med(v['latency_ms_p95'])} |"
            )
            label = ""
        if "hybrid_minus_best_bm25_mrr@10" in d:
            print(
                f"| | hybrid − best BM25 ({d['best_bm25']['method']}) | "
                f"{d['hybrid_minus_best_bm25_mrr@10']:+.3f} | | | | | |"
            )
    t = r.get("tuning")
    if t:
        print(
            f"\nTuning ({t['on']}, {t['grid_size']} settings): chosen {t['chosen']} dev MRR@10 "
            f"{t['chosen_dev_mrr@10']:.3f}; RRF k=60 equal weights {t['rrf60_equal_weights_dev_mrr@10']:.3f}; "
            f"best weighted {t['best_weighted']['dev_mrr@10']:.3f}; BM25 {t['dev_mrr@10_bm25']}; "
            f"e5 {t['dev_mrr@10_e5']:.3f}"
        )
    s = r.get("encoder_speed")
    if s:
        print(f"\nEncoder speed ({s['sample_passages']} uncached passages, {s['mean_chars']} chars mean):")
        for m, v in s["passages_s"].items():
            print(
                f"- {m}: {v['median']:.2f} passages/s (min {v['min']:.2f}, max {v['max']:.2f}), "
                f"x{s['speedup_over_one_at_a_time'][m]:.2f}"
            )
    for name, d in r["datasets"].items():
        if "e5_pool_encode" in d:
            e = d["e5_pool_encode"]
            print(
                f"- {name}: pool vectors {int(e['reused'])} from cache, {int(e['encoded'])} encoded; "
                f"hybrid index build from cache {med(d['hybrid_build_from_cache_passages_s'], '{:.0f}')} "
                "passages/s"
            )
    k = r.get("kuake_ir_promptcblue")
    if k:
        print(
            f"\nKUAKE-IR (PromptCBLUE toy): {json.dumps(k.get('dev', k), ensure_ascii=False)}; "
            f"all-不相关 baseline {json.dumps(k.get('dev_all_不相关_baseline'), ensure_ascii=False)}"
        )


if __name__ == "__main__":
    main()
