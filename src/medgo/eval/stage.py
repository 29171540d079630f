"""The `eval` stage: held-out perplexity and the classification check for every stage's model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from medgo.config.schema import CblueEvalConfig, ClinicalQAEvalConfig, ExamsEvalConfig, RunConfig
from medgo.data.jsonl import read_jsonl, write_jsonl
from medgo.data.stage import OUT_FILES
from medgo.eval.classification import evaluate_classification
from medgo.inference.hf import HFEngine
from medgo.log import console
from medgo.model.factory import initial_model, load_model
from medgo.model.tokenizer import load_tokenizer
from medgo.stage import StageContext, StageResult

NAME = "eval"


def config_for_hash(cfg: RunConfig) -> Any:
    import os

    # Where CBLUE data comes from changes the results, even when the config does not.
    return {"eval": cfg.eval.model_dump(mode="json"), "medgo_data": os.environ.get("MEDGO_DATA")}


def preference_accuracy(engine: HFEngine, rows: list[dict[str, Any]]) -> dict[str, float]:
    """Share of held-out pairs where the model gives the chosen answer a higher per-token log-likelihood
    than the rejected one (per token, so that answer length does not decide)."""
    from medgo.data.schemas import prompt_messages
    from medgo.model.tokenizer import IM_END

    reqs = []
    for r in rows:
        p = prompt_messages(r)
        reqs += [(p, r["chosen"] + IM_END), (p, r["rejected"] + IM_END)]
    scores = [s for s, _ in engine.loglikelihood(reqs)]
    lengths = [max(len(engine.encode(c)), 1) for _, c in reqs]
    wins, margins = 0, []
    for i in range(len(rows)):
        c = scores[2 * i] / lengths[2 * i]
        r = scores[2 * i + 1] / lengths[2 * i + 1]
        wins += c > r
        margins.append(c - r)
    return {"pref_accuracy": wins / len(rows), "pref_margin": sum(margins) / len(rows), "pref_pairs": len(rows)}


def _data_dir(configured: str | None) -> Path | None:
    import os

    d = configured or os.environ.get("MEDGO_DATA")
    return Path(d) if d else None


def run_clinicalqa_scores(engine: HFEngine, c: ClinicalQAEvalConfig, out: Path) -> dict[str, Any]:
    """Reference-based ClinicalQA means (same code as `medgo eval run --suite clinicalqa`)."""
    from medgo.eval.suites.clinicalqa import ClinicalQASpec, run_clinicalqa

    spec = ClinicalQASpec(sets=c.sets, data_dir=_data_dir(c.data_dir), limit=c.limit or None,
                          scorers=["reference"], max_new_tokens=c.max_new_tokens)
    summary = run_clinicalqa(engine, spec, out)
    overall = summary["overall"]["model"]
    return {"n": summary["n"], **{k: overall.get(k) for k in summary["metrics"]}}


def pairwise_pairs(c: ClinicalQAEvalConfig, evaluated: list[str]) -> list[tuple[str, str]]:
    """(model, baseline) pairs to judge: each evaluated stage against the one before it in pipeline order
    (`pairwise_vs_previous`), or the one configured pair when its model was evaluated."""
    order = [m for m in ("init", "pretrain", "sft", "preference") if m in evaluated]
    if c.pairwise_vs_previous:
        return [(b, a) for a, b in zip(order, order[1:], strict=False) if b != "init"]
    if c.pairwise_model and c.pairwise_model in evaluated:
        return [(c.pairwise_model, c.pairwise_baseline)]
    return []


def run_clinicalqa_pairwise(cfg: RunConfig, tok, trained: dict, c: ClinicalQAEvalConfig, out: Path) -> dict[str, Any]:
    """Pairwise ClinicalQA, both answer orders: pairwise_model vs pairwise_baseline, judged by an endpoint or by
    pairwise_model itself (then labelled so: a tiny model is a poor judge, and unparseable verdicts are counted
    as unjudged rather than guessed)."""
    from medgo.eval.judge import Judge, make_judge
    from medgo.eval.suites.clinicalqa import ClinicalQASpec, run_clinicalqa

    def engine_for(stage: str) -> HFEngine:
        if stage == "init":
            return HFEngine(initial_model(cfg.model, tok, cfg.seed), tok, batch_size=cfg.eval.batch_size)
        return HFEngine(load_model(trained[stage], cfg.model.dtype), tok, batch_size=cfg.eval.batch_size)

    model, base = engine_for(c.pairwise_model), engine_for(c.pairwise_baseline)
    if c.judge_url:
        judge = make_judge(c.judge_url, c.judge_model)
        judge_label = c.judge_model or c.judge_url
    else:
        judge = Judge(engine=model, attempts=c.judge_attempts, max_new_tokens=c.judge_max_new_tokens)
        judge_label = f"{c.pairwise_model} (the model judges itself)"
    labels = {"model": c.pairwise_model, "baseline": c.pairwise_baseline, "judge": judge_label}
    spec = ClinicalQASpec(sets=c.sets, data_dir=_data_dir(c.data_dir), limit=c.limit or None,
                          scorers=["reference", "pairwise"], max_new_tokens=c.max_new_tokens, labels=labels)
    summary = run_clinicalqa(model, spec, out, baseline=base, judge=judge)
    return {**labels, **summary.get("pairwise", {}).get("overall", {}), "judge_calls": summary["judge"]["calls"],
            "judge_malformed": summary["judge"]["malformed_replies"]}


def run_exam_scores(engine: HFEngine, c: ExamsEvalConfig, out: Path) -> dict[str, Any]:
    """Accuracy per exam and method (same code as `medgo eval run --suite exams`)."""
    from medgo.eval.suites.exams import ExamSpec, run_exams

    spec = ExamSpec(tasks=c.tasks, data_dir=_data_dir(c.data_dir), limit=c.limit or None, methods=list(c.methods))
    summary = run_exams(engine, spec, out)
    table: dict[str, Any] = {}
    for task, r in summary["tasks"].items():
        table[task] = {"n": r.get("n"), "source": r.get("source"),
                       **{m: (r.get(m) or {}).get("acc") for m in ("loglik", "loglik_norm", "generate")}}
    return table


def run_cblue(engine: HFEngine, c: CblueEvalConfig, out: Path) -> dict[str, Any]:
    """Scores per task and method (fractions in [0, 1]) from the CBLUE harness."""
    import os

    from medgo.eval.harness import EvalSpec, run_eval

    data_dir = c.data_dir or os.environ.get("MEDGO_DATA")
    root = Path(data_dir) if data_dir else None
    sampled = {t: c.subset_sizes[t] for t in c.tasks if t in c.subset_sizes}
    if sampled:  # fixed seeded subsets, scored in full
        from medgo.eval.subsets import write_cblue_subsets

        write_cblue_subsets(sampled, root, out / "subsets", c.subset_seed, c.split)
    groups: dict[tuple[bool, tuple[str, ...]], list[str]] = {}
    for t in c.tasks:
        groups.setdefault((t in sampled, tuple(c.task_methods.get(t, c.methods))), []).append(t)
    tasks: dict[str, Any] = {}
    for (is_sampled, methods), names in groups.items():
        spec = EvalSpec(tasks=names, split=c.split, data_dir=out / "subsets" if is_sampled else root,
                        limit=None if is_sampled else (c.limit or None), convention=c.convention, methods=list(methods))
        tag = ("sampled-" if is_sampled else "") + "-".join(methods)
        last = run_eval(engine, spec, out / tag if len(groups) > 1 else out)
        tasks.update(last["tasks"])
    summary = {"tasks": tasks}
    if len(groups) > 1:  # one scores table for all groups (each group's predictions are in its own folder)
        from medgo.eval.harness import markdown_table

        (out / "scores.md").write_text(markdown_table({**last, "tasks": tasks}), encoding="utf-8")
    table: dict[str, Any] = {}
    for task, r in summary["tasks"].items():
        table[task] = {
            "n": r["n"], "source": r.get("source"), "metric": (r.get("generate") or r.get("loglik") or {}).get("metric"),
            "generate": (r.get("generate") or {}).get("score"),
            "parse_failures": (r.get("generate") or {}).get("parse_failures"),
            "loglik": (r.get("loglik") or {}).get("score"),
        }
    return table


def run(cfg: RunConfig, ctx: StageContext) -> StageResult:
    e = cfg.eval
    if not e.enabled:
        return StageResult(status="disabled")
    data = ctx.run.stage("data")
    heldout = [r["text"] for r in read_jsonl(data / OUT_FILES["corpus_heldout"])]
    if e.max_heldout_docs:
        heldout = heldout[: e.max_heldout_docs]
    cls_rows = list(read_jsonl(data / OUT_FILES["eval_cls"])) if (data / OUT_FILES["eval_cls"]).is_file() else []
    pref_path = data / OUT_FILES["preference_eval"]
    pref_rows = list(read_jsonl(pref_path)) if pref_path.is_file() else []
    tok = load_tokenizer(ctx.run.tokenizer_dir)
    trained = ctx.run.trained_models()
    results: dict[str, dict[str, Any]] = {}
    for name in e.models:
        if name == "init":
            if cfg.model.base is None:
                model = initial_model(cfg.model, tok, cfg.seed)
            else:
                model = load_model(cfg.model.base, cfg.model.dtype, cfg.model.attn_implementation)
        elif name in trained:
            model = load_model(trained[name], cfg.model.dtype)
        else:
            continue  # stage disabled
        engine = HFEngine(model, tok, batch_size=e.batch_size)
        res: dict[str, Any] = {}
        if e.perplexity and heldout:
            res.update(engine.perplexity(heldout, e.perplexity_block_size))
        if e.preference_accuracy and pref_rows:
            res.update(preference_accuracy(engine, pref_rows))
        if e.classification and e.classification.enabled and cls_rows:
            m, preds = evaluate_classification(engine, cls_rows, e.classification)
            res.update({f"cls_{k}": v for k, v in m.items()})
            write_jsonl(ctx.out / f"predictions.{name}.jsonl", preds)
        if e.cblue and e.cblue.enabled and name in e.cblue.models:
            res["cblue"] = run_cblue(engine, e.cblue, ctx.out / "cblue" / name)
        if e.clinicalqa and e.clinicalqa.enabled and name in e.clinicalqa.models:
            res["clinicalqa"] = run_clinicalqa_scores(engine, e.clinicalqa, ctx.out / "clinicalqa" / name)
        if e.exams and e.exams.enabled and name in e.exams.models:
            res["exams"] = run_exam_scores(engine, e.exams, ctx.out / "exams" / name)
        results[name] = res
        console.print(f"eval {name}: " + ", ".join(f"{k}={v:.4g}" for k, v in res.items() if isinstance(v, float)))
        del engine, model
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    c = e.clinicalqa
    if c and c.enabled:
        for model, base in pairwise_pairs(c, list(results)):
            one = c.model_copy(update={"pairwise_model": model, "pairwise_baseline": base})
            sub = "pairwise" if not c.pairwise_vs_previous else f"pairwise-{model}-vs-{base}"
            results[model]["clinicalqa_pairwise"] = run_clinicalqa_pairwise(
                cfg, tok, trained, one, ctx.out / "clinicalqa" / sub
            )
    (ctx.out / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    flat = {f"{m}/{k}": v for m, r in results.items() for k, v in r.items() if isinstance(v, (int, float))}
    return StageResult(metrics=flat, extra={"results": results})
