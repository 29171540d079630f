"""Exam scoring speed and agreement: medgo vs lm-evaluation-harness on the same model, items, threads and
protocol (published CMMLU-medical: lm-eval's own cmmlu_<subject> tasks, 5-shot, pointed at the same local CSVs),
ratio of medians of 3 with the order alternated; plus the wall time of the general (CMMLU 58 subjects) and
English (MedQA-USMLE) exams. Adds `exams_vs_lm_eval` and `exam_suites_wall_time` to results.json."""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "eval"))  # exams.lmeval.cmmlu_local: the parity test's task writer

from exams.lmeval.cmmlu_local import write_cmmlu_tasks  # noqa: E402

from medgo.config.schema import ModelConfig, TinyModelConfig  # noqa: E402
from medgo.eval.suites.exams import ExamSpec, run_exams  # noqa: E402
from medgo.eval.suites.exams_protocols import CMMLU_MEDICAL  # noqa: E402
from medgo.inference.hf import HFEngine  # noqa: E402
from medgo.model.factory import build_tiny_qwen2  # noqa: E402
from medgo.model.tokenizer import train_bpe_tokenizer  # noqa: E402


def read_csv(p: Path) -> list[dict[str, str]]:
    with p.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def subset_cmmlu(src: Path, dst: Path, n: int, seed: int) -> int:
    """dst/corpora/CMMLU/data/{dev,test}: the 9 medical subjects' dev files and a seeded n-question test sample
    (file order kept), so that both tools read exactly the same items."""
    rows = [(s, i, r) for s in CMMLU_MEDICAL for i, r in enumerate(read_csv(src / "test" / f"{s}.csv"))]
    keep = set(random.Random(seed).sample(range(len(rows)), n))
    for split in ("dev", "test"):
        (dst / split).mkdir(parents=True, exist_ok=True)
    for s in CMMLU_MEDICAL:
        for split in ("dev", "test"):
            items = read_csv(src / split / f"{s}.csv")
            if split == "test":
                items = [r for j, (s2, _, r) in enumerate(rows) if s2 == s and j in keep]
            with (dst / split / f"{s}.csv").open("w", encoding="utf-8", newline="") as f:
                w = csv.DictWriter(f, fieldnames=["", "Question", "A", "B", "C", "D", "Answer"])
                w.writeheader()
                for k, r in enumerate(items):
                    w.writerow({**{c: r[c] for c in ("Question", "A", "B", "C", "D", "Answer")}, "": k})
    return len(keep)


def demo_model(texts: list[str], out: Path) -> Path:
    """A random Qwen2 of the demo preset's shape (configs/demo.yaml; 2048 positions so no 5-shot prompt is cut)
    with a 6000-token BPE trained on the exam text: speed and agreement, not quality, are measured."""
    tok = train_bpe_tokenizer(texts, vocab_size=6000)
    mc = ModelConfig(tiny=TinyModelConfig(hidden_size=192, intermediate_size=512, num_hidden_layers=3,
                                          num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=2048))
    build_tiny_qwen2(mc, tok, seed=42).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=os.environ.get("MEDGO_DATA", str(REPO.parent / "shared" / "data")))
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--skip-suites", action="store_true", help="no general / English wall-time runs")
    ap.add_argument("--out", default=str(Path(__file__).with_name("results.json")))
    ap.add_argument("--key", default="exams_vs_lm_eval", help="results.json key for this comparison")
    a = ap.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", "2"))
    torch.set_num_threads(threads)
    tmp = Path(tempfile.mkdtemp(prefix="medgo-exams-bench-"))
    os.environ.update(HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", HF_DATASETS_CACHE=str(tmp / "hf"),
                      TOKENIZERS_PARALLELISM="false")
    from lm_eval import __version__ as lm_eval_version
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    shared = Path(a.data_dir)
    cm = tmp / "corpora" / "CMMLU" / "data"
    n = subset_cmmlu(shared / "corpora" / "CMMLU" / "data", cm, a.n, seed=0)
    texts = [" ".join(r[c] for c in ("Question", "A", "B", "C", "D")) for s in CMMLU_MEDICAL
             for split in ("dev", "test") for r in read_csv(shared / "corpora" / "CMMLU" / "data" / split / f"{s}.csv")]
    model_dir = demo_model(texts + ["答案： A B C D"] * 20, tmp / "model")
    names = write_cmmlu_tasks(cm, list(CMMLU_MEDICAL), tmp / "tasks")

    engine = HFEngine.from_path(model_dir, batch_size=a.batch_size)
    lm = HFLM(pretrained=str(model_dir), device="cpu", dtype="float32", batch_size=a.batch_size)
    lm_engine_s: list[float] = []
    inner = lm.loglikelihood

    def timed_ll(reqs, *args, **kw):
        t0 = time.perf_counter()
        out = inner(reqs, *args, **kw)
        lm_engine_s.append(time.perf_counter() - t0)
        return out

    lm.loglikelihood = timed_ll
    spec = ExamSpec(tasks=["cmmlu-medical"], data_dir=tmp, methods=["loglik"], protocol="published")
    runs: dict[str, list[dict]] = {"medgo": [], "lm_eval": []}
    outs: dict[str, object] = {}

    def run_medgo() -> None:
        t0 = time.perf_counter()
        s = run_exams(engine, spec, tmp / "medgo-out")
        runs["medgo"].append({"end_to_end_s": time.perf_counter() - t0,
                              "engine_s": s["tasks"]["cmmlu-medical"]["loglik"]["seconds"], "load": os.getloadavg()[0]})
        outs["medgo"] = s

    def run_lm_eval() -> None:
        t0 = time.perf_counter()
        r = simple_evaluate(model=lm, tasks=names, num_fewshot=5, log_samples=True, bootstrap_iters=0,
                            task_manager=TaskManager(include_path=str(tmp / "tasks")))
        runs["lm_eval"].append({"end_to_end_s": time.perf_counter() - t0, "engine_s": lm_engine_s[-1],
                                "load": os.getloadavg()[0]})
        outs["lm_eval"] = r

    order = []
    for i in range(a.repeats):
        pair = (run_medgo, run_lm_eval) if i % 2 == 0 else (run_lm_eval, run_medgo)
        for fn in pair:
            fn()
            order.append(fn.__name__.removeprefix("run_"))
        print(f"repeat {i}: medgo {runs['medgo'][-1]['end_to_end_s']:.1f}s, lm-eval {runs['lm_eval'][-1]['end_to_end_s']:.1f}s")

    # agreement, item for item
    rows = {json.loads(x)["id"]: json.loads(x) for x in
            (tmp / "medgo-out" / "predictions" / "cmmlu-medical.jsonl").read_text(encoding="utf-8").splitlines()}
    same = {"loglik": 0, "loglik_norm": 0, "loglik_bytes": 0}
    max_diff, items = 0.0, 0
    res = outs["lm_eval"]
    for name, subj in zip(names, CMMLU_MEDICAL, strict=True):
        for smp in res["samples"][name]:
            row = rows[f"cmmlu-{subj}-test-{smp['doc_id']}"]
            lls = [x[0] for x in smp["filtered_resps"]]
            pick = "ABCD"[max(range(4), key=lls.__getitem__)]  # letters are 1 char / 1 byte: norm = raw here
            for k in same:
                same[k] += row[k] == pick
            max_diff = max(max_diff, max(abs(x - y) for x, y in zip(lls, row["option_ll"], strict=True)))
            items += 1
    med = {k: {m: statistics.median(r[m] for r in v) for m in ("end_to_end_s", "engine_s")} for k, v in runs.items()}
    acc_lm = sum(res["results"][t]["acc,none"] * len(res["samples"][t]) for t in names) / items
    bench = {
        "what": "published CMMLU-medical (lm-eval's own cmmlu_<subject> tasks: header, 5-shot first_n from dev, "
                "answer letter after '答案：'), same local CSV items, same model, threads and batch size",
        "items": items, "protocol": "published", "shots": 5, "batch_size": a.batch_size, "threads": threads,
        "lm_eval_version": lm_eval_version, "runs": runs, "order": order, "median_s": med,
        "ratio_end_to_end": med["lm_eval"]["end_to_end_s"] / med["medgo"]["end_to_end_s"],
        "ratio_engine": med["lm_eval"]["engine_s"] / med["medgo"]["engine_s"],
        "identical_choices": {k: f"{v}/{items}" for k, v in same.items()},
        "max_abs_loglik_diff": max_diff,
        "accuracy": {"medgo": outs["medgo"]["tasks"]["cmmlu-medical"]["loglik"]["acc"], "lm_eval_acc": acc_lm},
        "model": "random Qwen2, demo shape (hidden 192, 3 layers, 6 heads / 2 KV), 2048 positions, BPE 6000, fp32",
        "sampled": f"{n} of 1815 CMMLU medical test questions, seed 0",
    }
    suites = {}
    if not a.skip_suites:
        for task in ("cmmlu-general", "medqa-usmle"):
            t0 = time.perf_counter()
            s = run_exams(engine, ExamSpec(tasks=[task], data_dir=shared, methods=["loglik"], protocol="published"))
            r = s["tasks"][task]
            suites[task] = {"n": r["n"], "shots": r["shots"], "wall_s": time.perf_counter() - t0,
                            "scoring_s": r["loglik"]["seconds"], "subset": r.get("subset", "all"),
                            "load": os.getloadavg()[0]}
            print(task, suites[task])
    out = Path(a.out)
    doc = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else {}
    doc[a.key] = bench
    if suites:
        doc["exam_suites_wall_time"] = {"what": "medgo run_exams, published protocol, loglik, same demo-shape model "
                                                "and threads, CPU", **suites}
    doc[f"{a.key}_machine"] = {
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, torch {torch.__version__}, {threads} threads",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_avg_1m_before_after": [runs["medgo"][0]["load"], os.getloadavg()[0]],
        "command": f"OMP_NUM_THREADS={threads} nice -n 5 python benchmarks/eval/exams_vs_lmeval.py --n {a.n} "
                   f"--repeats {a.repeats}" + (" --skip-suites" if a.skip_suites else "")
                   + (f" --key {a.key}" if a.key != "exams_vs_lm_eval" else ""),
    }
    out.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps({k: bench[k] for k in ("median_s", "ratio_end_to_end", "ratio_engine", "identical_choices")}))


if __name__ == "__main__":
    main()
