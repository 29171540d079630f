"""Collect a finished `medgo run configs/small.yaml` into benchmarks/quality/results.json and results.md: per task
and stage scores, the TF-IDF (character n-grams) + logistic-regression reference trained on the same CBLUE
train split and scored by the same metric code on the same seeded dev subsets, wall time per stage, tokens
seen, data sizes, and the issue's targets (met or missed by how much).

    python benchmarks/quality/collect.py [--run runs/small] [--config configs/small.yaml] [--command "..."]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CLS = ["KUAKE-QIC", "CHIP-STS", "KUAKE-QQR", "KUAKE-QTR", "CHIP-CTC"]
STAGES = ["pretrain", "sft", "preference"]


def _load(p: Path) -> Any:
    return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else None


def task_score(r: dict[str, Any]) -> float | None:
    """Classification: label ranking by log-likelihood; other tasks: generation + parsing."""
    return r.get("loglik") if r.get("loglik") is not None else r.get("generate")


def ablation(spec: str, tasks: list[str]) -> dict[str, Any]:
    """Scores of a variant run (same data, tokenizer and earlier stages; one override), per evaluated model."""
    name, run_dir, what = spec.split("=", 2)
    run = Path(run_dir)
    ev = _load(run / "eval" / "results.json") or {}
    out: dict[str, Any] = {"name": name, "run": run_dir, "change": what, "models": {}}
    for m, r in ev.items():
        cb = r.get("cblue") or {}
        scores = {t: task_score(cb[t]) for t in tasks if t in cb}
        out["models"][m] = {"cblue": scores,
                            "cblue_average": sum(scores.values()) / len(scores) if len(scores) == len(tasks) else None,
                            **{k: r.get(k) for k in ("perplexity", "pref_accuracy", "pref_margin")}}
    out["stages"] = {s: {"wall_s": (m := _load(run / s / "manifest.json") or {}).get("wall_time_s"),
                         "tokens_seen": (m.get("metrics") or {}).get("tokens_seen"),
                         "steps": (m.get("metrics") or {}).get("steps")} for s in STAGES}
    return out


def count_params(cfg: Any) -> int:
    from transformers import Qwen2Config, Qwen2ForCausalLM

    t = cfg.model.tiny
    conf = Qwen2Config(vocab_size=cfg.tokenizer.vocab_size, hidden_size=t.hidden_size,
                       intermediate_size=t.intermediate_size, num_hidden_layers=t.num_hidden_layers,
                       num_attention_heads=t.num_attention_heads, num_key_value_heads=t.num_key_value_heads,
                       tie_word_embeddings=t.tie_word_embeddings)
    return sum(p.numel() for p in Qwen2ForCausalLM(conf).parameters())


def classical(cfg: Any, data_root: Path, subset_root: Path, sft_limits: dict[str, int]) -> dict[str, Any]:
    from medgo.eval.classical import evaluate_classical
    from medgo.eval.tasks import get_task

    out: dict[str, Any] = {}
    for name in CLS:
        task = get_task(name)
        train, src = task.load("train", data_root)
        test, test_src = task.load("dev", subset_root)
        full = evaluate_classical(task, train, test)
        res = {"full_train": {k: full[k] for k in ("score", "metric", "n_train", "n", "seconds")}, "train_source": src,
               "dev_source": test_src}
        n = sft_limits.get(name)
        if n and n < len(train):  # the same seeded rows `cblue-to-sft --limit` gave the language model
            idx = sorted(random.Random(f"{task.name}:0").sample(range(len(train)), n))
            sub = evaluate_classical(task, [train[i] for i in idx], test)
            res["sft_rows"] = {k: sub[k] for k in ("score", "metric", "n_train", "n", "seconds")}
        out[name] = res
    return out


def majority(data_root: Path, subset_root: Path) -> dict[str, Any]:
    """The train split's majority class on the same dev rows, scored the same way ("always answer X")."""
    from medgo.eval.tasks import get_task

    out = {}
    for name in CLS:
        task = get_task(name)
        golds = [str(task.gold(ex)) for ex in task.load("train", data_root)[0]]
        top = max(set(golds), key=golds.count)
        test, _ = task.load("dev", subset_root)
        out[name] = {"label": top, "score": task.score("cblue", [task.gold(ex) for ex in test], [top] * len(test),
                                                      test)["score"]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default=str(REPO / "runs/small"))
    ap.add_argument("--config", default=str(REPO / "configs/small.yaml"))
    ap.add_argument("--inputs", default=str(REPO / "runs/small-inputs"))
    ap.add_argument("--command", default="python benchmarks/quality/build_inputs.py && "
                    "nice -n 10 medgo run configs/small.yaml && python benchmarks/quality/collect.py")
    ap.add_argument("--classical-cache", default=str(REPO / "runs/small-classical.json"),
                    help="reuse the TF-IDF + LR reference from here when present (it depends only on data + config)")
    ap.add_argument("--classical-only", action="store_true", help="compute the reference into the cache and stop")
    ap.add_argument("--ablation", action="append", default=[],
                    help="NAME=RUN_DIR=what changed: a run that reused this run's earlier stages with one override")
    ap.add_argument("--note", default="2 shared CPU cores; other engineers' jobs ran at the same time (run niced)")
    a = ap.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    from medgo.config import load_config
    from medgo.eval.subsets import write_cblue_subsets

    data_root = Path(os.environ.get("MEDGO_DATA") or REPO.parent / "shared" / "data").resolve()
    os.environ["MEDGO_DATA"] = str(data_root)
    run, cfg = Path(a.run), load_config(a.config)
    man = {s: _load(run / s / "manifest.json") or {} for s in ["data", "tokenizer", *STAGES, "eval", "report"]}
    ev = _load(run / "eval" / "results.json") or {}
    inputs = _load(Path(a.inputs) / "manifest.json") or {}

    # per task x stage
    tasks = list(cfg.eval.cblue.tasks)
    table: dict[str, Any] = {}
    for t in tasks:
        row: dict[str, Any] = {}
        for s in STAGES:
            r = (ev.get(s) or {}).get("cblue", {}).get(t)
            if r:
                row[s] = {"score": task_score(r), "metric": r.get("metric"), "loglik": r.get("loglik"),
                          "generate": r.get("generate"), "parse_failures": r.get("parse_failures"), "n": r.get("n")}
        table[t] = row
    cache = Path(a.classical_cache)
    key = {"sizes": cfg.eval.cblue.subset_sizes, "seed": cfg.eval.cblue.subset_seed,
           "limits": (inputs.get("sft") or {}).get("cblue_limits") or {}}
    sub_root = cache.with_suffix(".subsets")
    write_cblue_subsets(cfg.eval.cblue.subset_sizes, data_root, sub_root, cfg.eval.cblue.subset_seed)
    cached = _load(cache)
    if cached and cached.get("key") == key and not a.classical_only:
        ref, ref_s = cached["reference"], cached["seconds"]
    else:
        t0 = time.time()
        ref = classical(cfg, data_root, sub_root, key["limits"])
        ref_s = round(time.time() - t0, 1)
        cache.write_text(json.dumps({"key": key, "reference": ref, "seconds": ref_s}, ensure_ascii=False, indent=1),
                         encoding="utf-8")
        if a.classical_only:
            print(json.dumps(ref, ensure_ascii=False, indent=1))
            return

    for t, v in majority(data_root, sub_root).items():
        ref[t]["majority"] = v

    def stage_avg(s: str, names: list[str]) -> float | None:
        xs = [table[t][s]["score"] for t in names if s in table[t] and table[t][s]["score"] is not None]
        return sum(xs) / len(xs) if len(xs) == len(names) else None

    per_model = {m: {k: v for k, v in (ev.get(m) or {}).items() if isinstance(v, (int, float))} for m in ev}
    exams = {m: (ev.get(m) or {}).get("exams") for m in STAGES}
    cqa = {m: (ev.get(m) or {}).get("clinicalqa") for m in STAGES}
    pairwise = {m: (ev.get(m) or {}).get("clinicalqa_pairwise") for m in STAGES if (ev.get(m) or {}).get("clinicalqa_pairwise")}

    ppl = {m: per_model.get(m, {}).get("perplexity") for m in ["init", *STAGES]}
    pacc = {m: per_model.get(m, {}).get("pref_accuracy") for m in ["init", *STAGES]}
    avg = {s: stage_avg(s, tasks) for s in STAGES}
    sft_vs_pre = {t: (table[t].get("sft", {}).get("score"), table[t].get("pretrain", {}).get("score")) for t in tasks}
    reached = {t: (table[t].get("sft", {}).get("score"), ref[t]["full_train"]["score"]) for t in CLS}
    targets = {
        "ppl_falls_after_pretrain": {"met": bool(ppl["init"] and ppl["pretrain"] and ppl["pretrain"] < ppl["init"]),
                                     "init": ppl["init"], "pretrain": ppl["pretrain"]},
        "sft_beats_pretrain_every_cblue_task": {
            "met": all(s is not None and p is not None and s > p for s, p in sft_vs_pre.values()),
            "per_task_delta": {t: (None if s is None or p is None else round(s - p, 4)) for t, (s, p) in sft_vs_pre.items()}},
        "preference_raises_pref_accuracy": {"met": bool(pacc["preference"] is not None and pacc["sft"] is not None
                                                        and pacc["preference"] > pacc["sft"]),
                                            "sft": pacc["sft"], "preference": pacc["preference"]},
        "preference_keeps_cblue_avg_within_1pt": {
            "met": bool(avg["preference"] is not None and avg["sft"] is not None and avg["sft"] - avg["preference"] <= 0.01),
            "sft_avg": avg["sft"], "preference_avg": avg["preference"]},
        "sft_reaches_tfidf_lr_on_3_cls_tasks": {
            "met": sum(1 for s, r in reached.values() if s is not None and s >= r) >= 3,
            "tasks_reached": [t for t, (s, r) in reached.items() if s is not None and s >= r],
            "gap_points": {t: (None if s is None else round(100 * (r - s), 1)) for t, (s, r) in reached.items()}},
    }
    stages = {}
    for s in ["data", "tokenizer", *STAGES, "eval", "report"]:
        m = man[s]
        met = m.get("metrics") or {}
        stages[s] = {"wall_s": m.get("wall_time_s"), "status": m.get("status")}
        if s in STAGES:
            stages[s].update({k: met.get(k) for k in ("tokens_seen", "tokens_per_s", "steps", "first_loss", "last_loss")
                              if k in met})
            stages[s]["counts"] = m.get("counts")
    total_wall = sum(v["wall_s"] or 0 for v in stages.values())
    res = {
        "machine": {"cpu": platform.machine(), "cores": os.cpu_count(), "python": platform.python_version(),
                    "torch": __import__("torch").__version__, "note": a.note},
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "command": a.command,
        "config": "configs/small.yaml",
        "model": {"params": count_params(cfg), **cfg.model.tiny.model_dump(), "vocab_size": cfg.tokenizer.vocab_size},
        "data": {"inputs": {k: inputs.get(k) for k in ("corpus", "sft", "preference", "decontamination", "evalsets")},
                 "data_stage_counts": man["data"].get("counts")},
        "wall_time_s": {**{k: v["wall_s"] for k, v in stages.items()}, "total": round(total_wall, 1)},
        "stages": stages,
        "cblue": table,
        "cblue_average": avg,
        "classical_reference": ref,
        "classical_seconds": ref_s,
        "exams": exams,
        "clinicalqa": cqa,
        "clinicalqa_pairwise": pairwise,
        "perplexity": ppl,
        "bits_per_char": {m: per_model.get(m, {}).get("bits_per_char") for m in ["init", *STAGES]},
        "pref_accuracy": pacc,
        "targets": targets,
        "ablations": [ablation(spec, tasks) for spec in a.ablation],
    }
    (HERE / "results.json").write_text(json.dumps(res, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (HERE / "results.md").write_text(markdown(res), encoding="utf-8")
    readme = HERE / "README.md"
    if readme.is_file():
        text = readme.read_text(encoding="utf-8")
        text = _between(text, "results", markdown(res, ablations=False))
        text = _between(text, "targets", targets_md(res))
        text = _between(text, "ablations", "\n".join(ablations_md(res)) + "\n")
        readme.write_text(text, encoding="utf-8")
    print(markdown(res))


def _p(x: Any) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def _between(text: str, tag: str, body: str) -> str:
    a, b = f"<!-- {tag}:start -->", f"<!-- {tag}:end -->"
    if a not in text or b not in text:
        return text
    return text[: text.index(a) + len(a)] + "\n" + body.strip() + "\n" + text[text.index(b):]


def targets_md(r: dict[str, Any]) -> str:
    t = r["targets"]
    ppl, sft, pa, avg, tf = (t["ppl_falls_after_pretrain"], t["sft_beats_pretrain_every_cblue_task"],
                             t["preference_raises_pref_accuracy"], t["preference_keeps_cblue_avg_within_1pt"],
                             t["sft_reaches_tfidf_lr_on_3_cls_tasks"])
    yes = {True: "**met**", False: "**missed**"}
    d = sft["per_task_delta"]
    not_beaten = [k for k, v in d.items() if v is None or v <= 0]
    return "\n".join([
        "| target | result | numbers |", "|---|---|---|",
        f"| held-out perplexity falls after pre-training | {yes[ppl['met']]} | {ppl['init']:.0f} -> {ppl['pretrain']:.0f} |",
        f"| SFT beats pre-train-only on every CBLUE task | {yes[sft['met']]} | "
        + ", ".join(f"{k} {100 * v:+.1f}" for k, v in d.items() if v is not None)
        + (f"; not beaten: {', '.join(not_beaten)}" if not_beaten else "") + " |",
        f"| preference raises held-out preference accuracy | {yes[pa['met']]} | "
        f"{_p(pa['sft'])} -> {_p(pa['preference'])} (held-out pairs) |",
        f"| preference keeps the CBLUE average (<= 1 point lower) | {yes[avg['met']]} | "
        f"{_p(avg['sft_avg'])} -> {_p(avg['preference_avg'])} |",
        f"| SFT reaches TF-IDF + LR on >= 3 classification tasks | {yes[tf['met']]} | reached on "
        f"{len(tf['tasks_reached'])}; gap in points: " + ", ".join(f"{k} {v}" for k, v in tf["gap_points"].items()) + " |",
    ]) + "\n"


def ablations_md(r: dict[str, Any]) -> list[str]:
    """The main run's SFT and preference rows, then each ablation's evaluated models, on the same columns."""
    L = ["| run | change | model | " + " | ".join(r["cblue"]) + " | average | pref. acc. | ppl | stage wall (s) |",
         "|---|---|---|" + "---|" * (len(r["cblue"]) + 4)]
    for m in ("sft", "preference"):
        L.append(f"| main | – | {m} | " + " | ".join(_p(r["cblue"][t].get(m, {}).get("score")) for t in r["cblue"])
                 + f" | {_p(r['cblue_average'].get(m))} | {_p(r['pref_accuracy'].get(m))} | "
                 + f"{r['perplexity'].get(m) or 0:.0f} | {r['stages'][m]['wall_s']} |")
    for ab in r.get("ablations", []):
        for m, v in ab["models"].items():
            ppl = v.get("perplexity")
            L.append(f"| {ab['name']} | {ab['change']} | {m} | " + " | ".join(_p(v['cblue'].get(t)) for t in r["cblue"])
                     + f" | {_p(v.get('cblue_average'))} | {_p(v.get('pref_accuracy'))} | "
                     + ("–" if ppl is None else f"{ppl:.0f}") + f" | {ab['stages'].get(m, {}).get('wall_s')} |")
    return L


def _exam(e: dict[str, Any] | None) -> str:
    return "–" if not e else f"{_p(e.get('loglik'))} ({_p(e.get('loglik_norm'))})"


def markdown(r: dict[str, Any], ablations: bool = True) -> str:
    L = ["| task | metric | n | pretrain | SFT | preference | TF-IDF+LR (full train) | TF-IDF+LR (SFT rows) | majority |",
         "|---|---|---|---|---|---|---|---|---|"]
    for t, row in r["cblue"].items():
        any_s = next(iter(row.values()), {})
        ref = r["classical_reference"].get(t, {})
        L.append(f"| {t} | {any_s.get('metric')} | {any_s.get('n')} | " + " | ".join(
            _p(row.get(s, {}).get("score")) for s in STAGES)
            + f" | {_p((ref.get('full_train') or {}).get('score'))} | {_p((ref.get('sft_rows') or {}).get('score'))} | "
            + f"{_p((ref.get('majority') or {}).get('score'))} |")
    a = r["cblue_average"]
    L.append(f"| **average** | | | {_p(a['pretrain'])} | {_p(a['sft'])} | {_p(a['preference'])} | | | |")
    L += ["", "| model | held-out ppl | bits/char | pref. accuracy | CMMLU-med (norm) | CNMLEQA (norm) | ClinicalQA ROUGE-L |",
          "|---|---|---|---|---|---|---|"]
    for m in ["init", *STAGES]:
        ex = r["exams"].get(m) or {}
        cq = r["clinicalqa"].get(m) or {}
        ppl = r["perplexity"].get(m)
        bpc = r["bits_per_char"].get(m)
        L.append(f"| {m} | {'–' if ppl is None else f'{ppl:.1f}'} | {'–' if bpc is None else f'{bpc:.3f}'} | "
                 f"{_p(r['pref_accuracy'].get(m))} | {_exam(ex.get('cmmlu-medical'))} | {_exam(ex.get('cnmleqa'))} | "
                 f"{_p(cq.get('rougeL'))} |")
    L += ["", "| stage | wall time (s) | tokens seen | tokens/s |", "|---|---|---|---|"]
    for s, v in r["stages"].items():
        tps = v.get("tokens_per_s")
        L.append(f"| {s} | {v['wall_s']} | {v.get('tokens_seen', '–')} | {'–' if tps is None else f'{tps:.0f}'} |")
    L.append(f"| **total** | {r['wall_time_s']['total']} | | |")
    if ablations and r.get("ablations"):
        L += [""] + ablations_md(r)
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    main()
