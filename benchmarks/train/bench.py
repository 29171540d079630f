"""SFT throughput: medgo vs LLaMA-Factory on the same tiny Qwen2, the same conversations, the same sequence length,
steps, batch, optimiser and seed, on this CPU. Each run is its own subprocess (its own peak RSS via /usr/bin/time),
the variants alternate within each repeat, and both trainers are counted by the same `Trainer.training_step` wrapper
(stepcount.py). See README.md for the command and what each figure means.

Runs with medgo's virtualenv; LLaMA-Factory runs through `llamafactory-cli train` from benchmarks/train/.venv-peer
(built by setup_peer.sh)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from medgo.machine import cpu_name

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PEER_VENV = HERE / ".venv-peer"
DEMO_SFT = REPO / "data" / "demo" / "sft.jsonl"
DEFAULT_SYSTEM = "You are a helpful assistant."  # what medgo's ChatML template inserts when a row has no system turn
THREADS = 2

# ----------------------------------------------------------------------------------------------------------- setup


def read_rows(path: Path, limit: int | None) -> list[dict]:
    """Conversations as {"messages": [...]}, each starting with an explicit system turn so both templates render
    the identical ChatML text (LLaMA-Factory's qwen template would otherwise insert its own default system)."""
    rows = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            msgs = [{"role": m["role"], "content": m["content"]} for m in json.loads(line)["messages"]]
            if msgs[0]["role"] != "system":
                msgs.insert(0, {"role": "system", "content": DEFAULT_SYSTEM})
            rows.append({"messages": msgs})
            if limit and len(rows) >= limit:
                break
    return rows


def build_assets(work: Path, rows: list[dict], args) -> dict:
    """Tokenizer + tiny Qwen2 saved with save_pretrained (both sides load these very files) and the data in
    LLaMA-Factory's sharegpt format with a dataset_info.json."""
    from medgo.config.schema import ModelConfig, TinyModelConfig
    from medgo.model.factory import build_tiny_qwen2, count_parameters
    from medgo.model.tokenizer import train_bpe_tokenizer

    texts = [m["content"] for r in rows for m in r["messages"]]
    tok = train_bpe_tokenizer(texts, args.vocab)
    mcfg = ModelConfig(tiny=TinyModelConfig(
        hidden_size=args.hidden, intermediate_size=args.intermediate, num_hidden_layers=args.layers,
        num_attention_heads=args.heads, num_key_value_heads=args.kv_heads, max_position_embeddings=args.max_length,
    ))
    model = build_tiny_qwen2(mcfg, tok, seed=args.seed)
    mdir = work / "model"
    model.save_pretrained(mdir)
    tok.save_pretrained(mdir)
    total, _ = count_parameters(model)
    c = model.config
    emb = c.vocab_size * c.hidden_size
    non_emb = total - emb
    # FLOPs per token: 6 * matmul weights (all but the input embedding lookup; the lm_head counts, tied or not)
    matmul_params = total if c.tie_word_embeddings else total - emb
    (work / "rows.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    lf_data = work / "lf_data"
    lf_data.mkdir()
    (lf_data / "bench_sft.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    (lf_data / "dataset_info.json").write_text(json.dumps({"bench_sft": {
        "file_name": "bench_sft.json", "formatting": "sharegpt", "columns": {"messages": "messages"},
        "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant",
                 "system_tag": "system"},
    }}, indent=1), encoding="utf-8")
    lens = [len(tok.apply_chat_template(r["messages"], tokenize=True, return_dict=True)["input_ids"]) for r in rows]
    return {
        "params_total": total, "params_non_embedding": non_emb, "params_matmul": matmul_params,
        "vocab_size": c.vocab_size, "tokenizer_len": len(tok), "hidden_size": c.hidden_size,
        "intermediate_size": c.intermediate_size, "num_hidden_layers": c.num_hidden_layers,
        "num_attention_heads": c.num_attention_heads, "num_key_value_heads": c.num_key_value_heads,
        "tie_word_embeddings": c.tie_word_embeddings, "conversations": len(rows),
        "conversation_tokens": {"mean": statistics.mean(lens), "max": max(lens), "min": min(lens),
                                "over_max_length": sum(n > args.max_length for n in lens)},
    }


def lf_yaml(work: Path, out: Path, args, packed: bool, optim: str) -> Path:
    cfg = {
        "model_name_or_path": str(work / "model"), "stage": "sft", "do_train": True, "finetuning_type": "full",
        "dataset": "bench_sft", "dataset_dir": str(work / "lf_data"), "template": "qwen",
        "cutoff_len": args.max_length, "overwrite_cache": True, "output_dir": str(out), "overwrite_output_dir": True,
        "logging_steps": args.logging_steps, "save_strategy": "no", "plot_loss": False, "report_to": "none",
        "per_device_train_batch_size": args.batch, "gradient_accumulation_steps": 1,
        "learning_rate": args.lr, "max_steps": args.steps, "lr_scheduler_type": "cosine", "warmup_ratio": 0.0,
        "weight_decay": 0.0, "max_grad_norm": 1.0, "optim": optim, "bf16": False, "fp16": False, "use_cpu": True,
        "seed": args.seed, "data_seed": args.seed, "dataloader_num_workers": 0,
        # medgo trains without activation checkpointing; LLaMA-Factory turns it on unless told not to
        "disable_gradient_checkpointing": True,
        "packing": packed, "neat_packing": packed,
    }
    path = out.parent / f"{out.name}.yaml"
    path.write_text("\n".join(f"{k}: {json.dumps(v)}" for k, v in cfg.items()) + "\n", encoding="utf-8")
    return path


# ----------------------------------------------------------------------------------------------------------- workers


def medgo_worker(ns) -> None:
    """One medgo SFT run in this process: RunConfig -> medgo.train.sft.build_trainer -> train()."""
    import torch

    torch.set_num_threads(THREADS)
    sys.path.insert(0, str(HERE))
    import stepcount

    stepcount.install(ns.count_out)
    from medgo.config.schema import ModelConfig, RunConfig
    from medgo.model.factory import load_model, set_generation_defaults
    from medgo.model.tokenizer import load_tokenizer
    from medgo.train.sft import build_trainer

    work = Path(ns.work)
    rows = json.loads((work / "rows.json").read_text(encoding="utf-8"))
    tok = load_tokenizer(work / "model")
    model = load_model(work / "model", "float32")
    set_generation_defaults(model, tok)
    cfg = RunConfig(name="bench", seed=ns.seed, model=ModelConfig(base=str(work / "model")))
    s = cfg.sft
    s.max_steps, s.per_device_batch_size, s.max_length = ns.steps, ns.batch, ns.max_length
    s.learning_rate, s.logging_steps, s.save_steps = ns.lr, ns.logging_steps, 10**6
    if ns.packing:
        s.packing = True
    trainer = build_trainer(cfg, model, tok, rows, Path(ns.out))
    res = trainer.train()
    info = {"train_runtime": res.metrics["train_runtime"], "optim": str(trainer.args.optim),
            "train_loss": res.metrics.get("train_loss"), "trl_packing": bool(getattr(trainer.args, "packing", False)),
            "padding_free": bool(getattr(trainer.args, "padding_free", False)),
            "attn_implementation": getattr(model.config, "_attn_implementation", None)}
    Path(ns.info_out).write_text(json.dumps(info), encoding="utf-8")


def medgo_optim(work: Path, args) -> str:
    """The optimiser medgo's TrainingArguments end up with, so LLaMA-Factory is given the same one."""
    code = ("from pathlib import Path; from medgo.config.schema import RunConfig; from medgo.train.common import "
            "make_args; from trl import SFTConfig; c=RunConfig(name='x'); "
            f"o=make_args(SFTConfig, c.sft, Path({str(work)!r}), 0).optim; print(getattr(o, 'value', o))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()[-1]


# ----------------------------------------------------------------------------------------------------------- runs


def timed(cmd: list[str], env: dict, log: Path) -> tuple[int, float, int]:
    """(exit code, wall seconds, peak RSS in KiB of the process tree's largest process, from GNU time)."""
    rss_file = log.with_suffix(".rss")
    t0 = time.perf_counter()
    with log.open("w") as f:
        rc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *cmd], env=env, stdout=f,
                            stderr=subprocess.STDOUT, cwd=str(log.parent)).returncode
    wall = time.perf_counter() - t0
    try:
        rss = int(rss_file.read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        rss = -1
    return rc, wall, rss


def base_env() -> dict:
    env = dict(os.environ)
    for k in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"):
        env.pop(k, None)
    env.update(OMP_NUM_THREADS=str(THREADS), MKL_NUM_THREADS=str(THREADS), TOKENIZERS_PARALLELISM="false",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1", DISABLE_VERSION_CHECK="1",
               PYTHONUNBUFFERED="1")
    return env


def run_one(variant: str, rep: int, work: Path, args, optim: str) -> dict:
    out = work / "runs" / f"{variant}-{rep}"
    out.mkdir(parents=True)
    count = out / "steps.json"
    env = base_env()
    load_before = os.getloadavg()
    if variant.startswith("medgo"):
        info = out / "info.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--work", str(work), "--out", str(out),
               "--count-out", str(count), "--info-out", str(info), "--steps", str(args.steps),
               "--batch", str(args.batch), "--max-length", str(args.max_length), "--lr", str(args.lr),
               "--logging-steps", str(args.logging_steps), "--seed", str(args.seed)]
        if variant == "medgo_packed":
            cmd.append("--packing")
    else:
        site = out / "site"
        site.mkdir()
        (site / "sitecustomize.py").write_text(
            f"import sys\nsys.path.insert(0, {str(HERE)!r})\nimport torch\ntorch.set_num_threads({THREADS})\n"
            f"import stepcount\nstepcount.install({str(count)!r})\n", encoding="utf-8")
        env["PYTHONPATH"] = str(site)
        env["VIRTUAL_ENV"] = str(PEER_VENV)
        env["PATH"] = f"{PEER_VENV / 'bin'}:{env['PATH']}"
        cfg = lf_yaml(work, out / "lf_out", args, variant == "llamafactory_neat_packing", optim)
        cmd = [str(PEER_VENV / "bin" / "llamafactory-cli"), "train", str(cfg)]
    rc, wall, rss = timed(cmd, env, out / "log.txt")
    res: dict = {"variant": variant, "repeat": rep, "rc": rc, "process_wall_s": wall, "peak_rss_mib": rss / 1024,
                 "loadavg_before": load_before, "loadavg_after": os.getloadavg()}
    if rc != 0 or not count.exists():
        res["error"] = (out / "log.txt").read_text(errors="replace")[-3000:]
        return res
    steps = json.loads(count.read_text())
    if variant.startswith("medgo"):
        extra = json.loads((out / "info.json").read_text())
    else:
        extra = json.loads((out / "lf_out" / "train_results.json").read_text())
    res.update(summarise(steps, extra["train_runtime"], args))
    res["train_runtime_s"] = extra["train_runtime"]
    res["trainer_info"] = {k: v for k, v in extra.items() if k != "train_runtime"}
    res["first_rows"] = steps["rows"]
    return res


def summarise(stats: dict, runtime: float, args) -> dict:
    st = stats["steps"]
    real = sum(s["real_tokens"] for s in st)
    pos = sum(s["positions"] for s in st)
    loop = st[-1]["t1"] - st[0]["t0"]
    steady = st[-1]["t1"] - st[min(2, len(st) - 1)]["t0"]  # without the first two steps' warm-up
    steady_tokens = sum(s["real_tokens"] for s in st[2:]) if len(st) > 2 else real
    cum, curve = 0, []
    for i, s in enumerate(st, start=1):
        cum += s["real_tokens"]
        curve.append((i, cum, s["loss"]))
    tail = max(1, len(st) // 5)
    return {
        "steps": len(st), "real_tokens": real, "positions": pos, "loss_tokens": sum(s["loss_tokens"] for s in st),
        "padding_fraction": 1 - real / pos, "sequences": sum(s["sequences"] for s in st),
        "batch_shapes": sorted({tuple(s["shape"]) for s in st})[:3],
        "sum_len_sq": sum(s["sum_len_sq"] for s in st),
        "tokens_per_s": real / runtime, "tokens_per_s_step_loop": real / loop,
        "tokens_per_s_steady": steady_tokens / steady if steady > 0 else None,
        "final_loss_mean_last_20pct": statistics.mean(s["loss"] for s in st[-tail:]),
        "loss_curve": curve,
    }


def loss_at_tokens(curve: list, tokens: int) -> float | None:
    """Mean loss of the 3 steps around the point where this run had seen `tokens` real tokens."""
    for k, (_, cum, _) in enumerate(curve):
        if cum >= tokens:
            window = curve[max(0, k - 1): k + 2]
            return statistics.mean(x[2] for x in window)
    return None


# ----------------------------------------------------------------------------------------------------------- peak


def matmul_peak(threads: int = THREADS) -> dict:
    """Best fp32 torch.matmul GFLOP/s on `threads` threads over square sizes (a few reps each)."""
    import torch

    torch.set_num_threads(threads)
    out = {}
    for n in (512, 1024, 2048, 3072):
        a, b = torch.randn(n, n), torch.randn(n, n)
        torch.matmul(a, b)
        best = 0.0
        for _ in range(5 if n <= 2048 else 3):
            t0 = time.perf_counter()
            torch.matmul(a, b)
            best = max(best, 2 * n**3 / (time.perf_counter() - t0) / 1e9)
        out[str(n)] = best
    return {"threads": threads, "gflops_by_size": out, "peak_gflops": max(out.values()),
            "torch": torch.__version__, "mkldnn": torch.backends.mkldnn.is_available()}


# ----------------------------------------------------------------------------------------------------------- main


def versions() -> dict:
    import torch
    import transformers
    import trl

    peer = None
    if (PEER_VENV / "bin" / "python").exists():
        code = ("import importlib.metadata as m; import json; print(json.dumps({p: m.version(p) for p in "
                "('llamafactory','torch','transformers','trl','datasets','accelerate','peft')}))")
        r = subprocess.run([str(PEER_VENV / "bin" / "python"), "-c", code], capture_output=True, text=True,
                           env=base_env())
        peer = json.loads(r.stdout) if r.returncode == 0 else {"error": r.stderr[-2000:]}
    return {"medgo_env": {"torch": torch.__version__, "transformers": transformers.__version__,
                          "trl": trl.__version__}, "peer_env": peer}


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def aggregate(results: list[dict], variants: list[str]) -> dict:
    agg = {}
    for v in variants:
        ok = [r for r in results if r["variant"] == v and "tokens_per_s" in r]
        if not ok:
            errs = [r.get("error", "") for r in results if r["variant"] == v]
            agg[v] = {"ok_runs": 0, "error": errs[0] if errs else "not run"}
            continue
        agg[v] = {
            "ok_runs": len(ok), "tokens_per_s": spread([r["tokens_per_s"] for r in ok]),
            "tokens_per_s_steady": spread([r["tokens_per_s_steady"] for r in ok]),
            "train_runtime_s": spread([r["train_runtime_s"] for r in ok]),
            "process_wall_s": spread([r["process_wall_s"] for r in ok]),
            "peak_rss_mib": spread([r["peak_rss_mib"] for r in ok]),
            "padding_fraction": ok[0]["padding_fraction"], "real_tokens": ok[0]["real_tokens"],
            "positions": ok[0]["positions"], "loss_tokens": ok[0]["loss_tokens"], "steps": ok[0]["steps"],
            "sequences": ok[0]["sequences"], "sum_len_sq": ok[0]["sum_len_sq"],
            "final_loss_mean_last_20pct": spread([r["final_loss_mean_last_20pct"] for r in ok]),
            "trainer_info": ok[0]["trainer_info"],
        }
    return agg


def compare_inputs(a: dict, b: dict) -> dict:
    """Do the first steps' conversations hold identical token ids on both sides, and how many label tokens?"""
    ra, rb = a.get("first_rows") or [], b.get("first_rows") or []
    same, n, la, lb = 0, 0, 0, 0
    for sa, sb in zip(ra, rb, strict=False):
        # a step's conversations as a set: medgo lays a batch out in rows longest first
        sa, sb = sorted(sa, key=lambda r: r["ids"]), sorted(sb, key=lambda r: r["ids"])
        for x, y in zip(sa, sb, strict=False):
            n += 1
            same += x["ids"] == y["ids"]
            la += x["label_tokens"] or 0
            lb += y["label_tokens"] or 0
    return {"rows_compared": n, "rows_identical_ids": same, "label_tokens_medgo": la, "label_tokens_peer": lb}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--logging-steps", type=int, default=5)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--intermediate", type=int, default=688)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--vocab", type=int, default=8000)
    ap.add_argument("--data", type=Path, default=DEMO_SFT, help="SFT JSONL {id, messages} (read in place)")
    ap.add_argument("--limit", type=int, default=None, help="use only the first N conversations")
    ap.add_argument("--variants", default="auto",
                    help="comma list of medgo,medgo_packed,llamafactory,llamafactory_neat_packing; auto: all "
                         "(medgo_packed only when SFTConfig has `packing`)")
    ap.add_argument("--out", type=Path, default=HERE / "results.json")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (printed)")
    # worker mode (internal)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--packing", action="store_true", help=argparse.SUPPRESS)
    for k in ("--work", "--count-out", "--info-out"):
        ap.add_argument(k, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        args.out = str(args.out)
        medgo_worker(args)
        return

    from medgo.config.schema import SFTConfig

    has_packing = "packing" in SFTConfig.model_fields
    if args.variants == "auto":
        variants = ["medgo", "llamafactory"] + (["medgo_packed", "llamafactory_neat_packing"] if has_packing else [])
    else:
        variants = args.variants.split(",")
    peer_ok = (PEER_VENV / "bin" / "llamafactory-cli").exists()
    if not peer_ok:
        print(f"no {PEER_VENV}/bin/llamafactory-cli: run benchmarks/train/setup_peer.sh; measuring medgo only")
        variants = [v for v in variants if v.startswith("medgo")]
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    work = Path(tempfile.mkdtemp(prefix="medgo-train-bench-"))
    rows = read_rows(args.data, args.limit)
    model_info = build_assets(work, rows, args)
    optim = medgo_optim(work, args)
    print(f"work {work}; model {model_info['params_total'] / 1e6:.2f}M params; {len(rows)} conversations; "
          f"variants {variants}; optim {optim}", flush=True)
    peak_before = matmul_peak()
    print(f"fp32 matmul peak ({THREADS} threads): {peak_before['peak_gflops']:.1f} GFLOP/s", flush=True)
    results = []
    for rep in range(args.repeats):
        order = variants if rep % 2 == 0 else list(reversed(variants))  # A,B,...,B,A: load hits both alike
        for v in order:
            r = run_one(v, rep, work, args, optim)
            results.append(r)
            msg = (f"{r['tokens_per_s']:.0f} tok/s (runtime {r['train_runtime_s']:.1f}s, pad "
                   f"{r['padding_fraction']:.1%}, loss {r['final_loss_mean_last_20pct']:.3f}, "
                   f"RSS {r['peak_rss_mib']:.0f} MiB)") if "tokens_per_s" in r else f"FAILED rc={r['rc']}"
            print(f"[{rep}] {v}: {msg}; load {r['loadavg_after'][0]:.2f}", flush=True)
    peak_after = matmul_peak()
    peak = max(peak_before["peak_gflops"], peak_after["peak_gflops"])
    agg = aggregate(results, variants)
    L, d = model_info["num_hidden_layers"], model_info["hidden_size"]
    for a in agg.values():
        if a["ok_runs"]:
            # useful training FLOPs: 6 * matmul params per real token + causal attention 6 * L * d * sum(len^2)
            flops = 6 * model_info["params_matmul"] * a["real_tokens"] + 6 * L * d * a["sum_len_sq"]
            achieved = [flops / t / 1e9 for t in a["train_runtime_s"]["runs"]]
            a["model_gflops_per_s"] = spread(achieved)
            a["mfu_vs_matmul_peak"] = spread([x / peak for x in achieved])
            # The LM head is only needed where a token has a label (assistant tokens); medgo computes it only
            # there, the peer everywhere. Counting it per loss token gives the FLOPs the objective needs, the
            # same for both sides: a hardware-efficiency figure that skipped work cannot raise.
            head = model_info["vocab_size"] * d
            needed = flops - 6 * head * (a["real_tokens"] - a["loss_tokens"])
            a["needed_flops_utilization"] = spread([needed / t / 1e9 / peak for t in a["train_runtime_s"]["runs"]])
    ratios = {}

    def ratio(num: str, den: str) -> None:
        if agg.get(num, {}).get("ok_runs") and agg.get(den, {}).get("ok_runs"):
            ratios[f"{num}/{den}"] = agg[num]["tokens_per_s"]["median"] / agg[den]["tokens_per_s"]["median"]

    for num, den in (("medgo", "llamafactory"), ("medgo_packed", "llamafactory"),
                     ("medgo_packed", "llamafactory_neat_packing"), ("llamafactory_neat_packing", "llamafactory")):
        ratio(num, den)
    loss_check = {}
    if agg.get("llamafactory", {}).get("ok_runs"):
        lf_first = next(r for r in results if r["variant"] == "llamafactory" and "loss_curve" in r)
        n_tok = lf_first["real_tokens"]
        for v in variants:
            r = next((x for x in results if x["variant"] == v and "loss_curve" in x), None)
            if r:
                loss_check[v] = {"loss_at_peer_total_tokens": loss_at_tokens(r["loss_curve"], n_tok),
                                 "tokens_seen": r["real_tokens"]}
        loss_check["peer_total_real_tokens"] = n_tok
    inputs = {}
    m = next((r for r in results if r["variant"] == "medgo" and "first_rows" in r), None)
    p = next((r for r in results if r["variant"] == "llamafactory" and "first_rows" in r), None)
    if m and p:
        inputs = compare_inputs(m, p)
    best_medgo = max((v for v in agg if v.startswith("medgo") and agg[v]["ok_runs"]),
                     key=lambda v: agg[v]["tokens_per_s"]["median"], default=None)
    best_peer = max((v for v in agg if v.startswith("llamafactory") and agg[v]["ok_runs"]),
                    key=lambda v: agg[v]["tokens_per_s"]["median"], default=None)
    ver = versions()
    peer_ver = (ver["peer_env"] or {}).get("llamafactory")
    report = {
        "benchmark": "SFT training throughput, medgo vs LLaMA-Factory, tiny Qwen2, CPU",
        "date_utc": started,
        "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "torch_threads": THREADS,
                    "platform": platform.platform(), "python": platform.python_version()},
        "command": "python " + " ".join([str(Path(sys.argv[0]))] + sys.argv[1:]),
        "peer": f"LLaMA-Factory {peer_ver}" if peer_ver else "LLaMA-Factory (not installed)",
        "versions": ver,
        "setup": {"data": str(args.data), "steps": args.steps, "batch": args.batch, "max_length": args.max_length,
                  "lr": args.lr, "scheduler": "cosine, no warm-up", "optim": optim, "seed": args.seed,
                  "repeats": args.repeats, "order": "alternating; reversed every other repeat", "model": model_info},
        "tokens_definition": "real (non-pad) input tokens the model processed per second of Trainer.train_runtime; "
                             "padding_fraction = pad positions / all batch positions",
        "ratio": {"headline": (f"{best_medgo}/{best_peer}" if best_medgo and best_peer else None),
                  "value": (agg[best_medgo]["tokens_per_s"]["median"] / agg[best_peer]["tokens_per_s"]["median"]
                            if best_medgo and best_peer else None),
                  "all": ratios, "target": 1.5},
        "loss_at_equal_tokens": loss_check,
        "input_check": inputs,
        "matmul_peak": {"before": peak_before, "after": peak_after, "peak_gflops": peak},
        "variants": agg,
        "runs": [{k: v for k, v in r.items() if k not in ("first_rows", "loss_curve")} for r in results],
        "loss_curves": {f"{r['variant']}-{r['repeat']}": r["loss_curve"] for r in results if "loss_curve" in r},
    }
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({"ratio": report["ratio"], "loss_at_equal_tokens": loss_check, "input_check": inputs},
                     indent=1))
    for v, a in agg.items():
        if a["ok_runs"]:
            print(f"{v:28s} {a['tokens_per_s']['median']:8.0f} tok/s  pad {a['padding_fraction']:.1%}  "
                  f"RSS {a['peak_rss_mib']['median']:.0f} MiB  MFU {a['mfu_vs_matmul_peak']['median']:.1%}")
        else:
            print(f"{v:28s} FAILED: {a['error'][-500:]}")
    if args.keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
