"""Benchmark `medgo eval run` throughput: batched generation vs a one-sample-at-a-time generate loop (the peer),
and label ranking by log-likelihood vs generation, on a fixed CBLUE dev subset. Writes results.json."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from medgo.config.schema import ModelConfig, TinyModelConfig
from medgo.eval.harness import build_prompt, rank_labels
from medgo.eval.suites.cblue_run import data_dir_from
from medgo.eval.tasks import get_task
from medgo.inference.base import GenerationParams
from medgo.inference.hf import HFEngine
from medgo.model.factory import build_tiny_qwen2
from medgo.model.tokenizer import train_bpe_tokenizer


def demo_sized_model(texts: list[str]) -> HFEngine:
    """A random Qwen2 of the demo preset's shape (configs/demo.yaml): speed, not quality, is measured."""
    tok = train_bpe_tokenizer(texts, vocab_size=6000)
    mc = ModelConfig(tiny=TinyModelConfig(hidden_size=192, intermediate_size=512, num_hidden_layers=3,
                                          num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=1024))
    return HFEngine(build_tiny_qwen2(mc, tok, seed=42), tok, batch_size=16)


def timed(fn, repeats: int) -> tuple[list[float], object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


def stats(times: list[float], n: int) -> dict[str, float]:
    rates = [n / t for t in times]
    return {"samples_per_s_median": statistics.median(rates), "samples_per_s_min": min(rates),
            "samples_per_s_max": max(rates), "seconds": times}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", default="KUAKE-QIC,CHIP-STS")
    ap.add_argument("--n", type=int, default=32, help="first N dev examples per task")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default=str(Path(__file__).with_name("results.json")))
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    data_dir = data_dir_from(a.data_dir)
    tasks = [get_task(t) for t in a.tasks.split(",")]
    sets = {t.name: t.load("dev", data_dir)[0][: a.n] for t in tasks}
    texts = [" ".join(t.fields(ex).values()) for t in tasks for ex in sets[t.name]] + [
        v for t in tasks for v in t.labels.values()]
    engine = demo_sized_model(texts * 3)
    res: dict = {"tasks": {}}
    for t in tasks:
        exs = sets[t.name]
        prompts = [build_prompt(t, ex, t.template(None), []) for ex in exs]
        golds = [t.gold(ex) for ex in exs]
        params = GenerationParams(max_new_tokens=t.max_new_tokens)
        bt, batched = timed(lambda p=prompts, g=params: engine.generate(p, g), a.repeats)
        st, single = timed(lambda p=prompts, g=params: [engine.generate([x], g)[0] for x in p], a.repeats)
        lt, ranked = timed(lambda p=prompts, t=t: rank_labels(engine, t, p), a.repeats)
        gen_preds = [t.parse(c.text, ex) for c, ex in zip(batched, exs, strict=True)]
        b, s, ll = stats(bt, len(exs)), stats(st, len(exs)), stats(lt, len(exs))
        res["tasks"][t.name] = {
            "n": len(exs), "max_new_tokens": t.max_new_tokens,
            "batched_generate": b, "peer_one_at_a_time_generate": s, "loglik_ranking": ll,
            "ratio_batched_vs_peer": b["samples_per_s_median"] / s["samples_per_s_median"],
            "identical_greedy_predictions": [c.text for c in batched] == [c.text for c in single],
            "ratio_loglik_vs_batched_generate": ll["samples_per_s_median"] / b["samples_per_s_median"],
            "score_generate": t.score("cblue", golds, gen_preds, exs)["score"],
            "score_loglik": t.score("cblue", golds, ranked, exs)["score"],
            "parse_failures_generate": sum(p is None for p in gen_preds),
        }
    res.update({
        "machine": f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cpus, torch {torch.__version__}"
                   f" ({'cuda' if torch.cuda.is_available() else 'cpu'}), {torch.get_num_threads()} threads",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": (f"MEDGO_DATA={os.environ['MEDGO_DATA']} " if os.environ.get("MEDGO_DATA") else "")
        + "python benchmarks/eval/run.py " + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(a).items()
                                                             if v is not None and k != "out"),
        "data": str(data_dir) if data_dir else "project samples",
        "model": "random Qwen2, demo shape (hidden 192, 3 layers, BPE 6000), fp32, batch 16",
        "peer": "one-sample-at-a-time HFEngine.generate loop (same engine, same greedy params)",
    })
    out = Path(a.out)
    keep = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else {}  # exams_vs_lmeval.py's keys stay
    out.write_text(json.dumps({**{k: v for k, v in keep.items() if k.startswith("exam")}, **res}, ensure_ascii=False,
                              indent=2), encoding="utf-8")
    for name, r in res["tasks"].items():
        print(f"{name}: batched {r['batched_generate']['samples_per_s_median']:.1f}/s, peer "
              f"{r['peer_one_at_a_time_generate']['samples_per_s_median']:.1f}/s, ratio {r['ratio_batched_vs_peer']:.1f}x,"
              f" identical={r['identical_greedy_predictions']}, loglik {r['loglik_ranking']['samples_per_s_median']:.1f}/s")


if __name__ == "__main__":
    main()
