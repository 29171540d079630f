"""The `eval` stage: for every stage's model, held-out perplexity and preference accuracy (transformers), then
the suites its config enables (classification check, CBLUE, ClinicalQA, exams) on eval.backend's engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from medgo.config.data_root import data_root
from medgo.config.schema import ClinicalQAEvalConfig, RunConfig
from medgo.data.jsonl import read_jsonl
from medgo.data.stage import OUT_FILES
from medgo.errors import ConfigError
from medgo.eval.suite import StageInputs
from medgo.eval.suites import STAGE_SUITES, get_suite
from medgo.inference.base import Engine
from medgo.inference.hf import HFEngine
from medgo.log import console
from medgo.model.factory import initial_model, load_model
from medgo.model.tokenizer import load_tokenizer
from medgo.stage import StageContext, StageResult

NAME = "eval"


def config_for_hash(cfg: RunConfig) -> Any:
    # Where CBLUE data comes from changes the results, even when the config does not.
    root = data_root()
    return {"eval": cfg.eval.model_dump(mode="json", exclude={"regressions"}), "medgo_data": str(root) if root else None}


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
    spec = ClinicalQASpec(sets=c.sets, data_dir=data_root(c.data_dir), limit=c.limit or None,
                          scorers=["reference", "pairwise"], max_new_tokens=c.max_new_tokens, labels=labels)
    summary = run_clinicalqa(model, spec, out, baseline=base, judge=judge)
    return {**labels, **summary.get("pairwise", {}).get("overall", {}), "judge_calls": summary["judge"]["calls"],
            "judge_malformed": summary["judge"]["malformed_replies"]}


def spread_over_gpus() -> str | None:
    """With several GPUs a model too large for one is spread over all of them (accelerate's device map);
    with one GPU or none the engine places it. (eval.backend vllm shards with tensor parallelism instead.)"""
    return "auto" if torch.cuda.device_count() > 1 else None


def suite_engine(cfg: RunConfig, name: str, model_dir: Path | None, hf: HFEngine) -> Engine:
    """The engine the suites run on (eval.backend); perplexity and preference accuracy always use `hf`."""
    e = cfg.eval
    if e.backend == "vllm" and model_dir is not None:
        from medgo.inference.vllm_offline import VLLMEngine

        return VLLMEngine(model_dir)
    if e.backend == "openai":
        import os

        from medgo.inference.openai_api import OpenAIEngine

        if not e.base_url:
            raise ConfigError("eval.backend openai needs eval.base_url", hint="e.g. http://127.0.0.1:8000/v1")
        return OpenAIEngine(e.base_url, model=e.served_model.format(stage=name), api_key=os.environ.get(e.api_key_env))
    return hf  # hf, or vllm for a model with no folder (a from-scratch init)


def run(cfg: RunConfig, ctx: StageContext) -> StageResult:
    e = cfg.eval
    if not e.enabled:
        return StageResult(status="disabled")
    data = ctx.run.stage("data")
    heldout = [r["text"] for r in read_jsonl(data / OUT_FILES["corpus_heldout"])]
    if e.max_heldout_docs:
        heldout = heldout[: e.max_heldout_docs]
    pref_path = data / OUT_FILES["preference_eval"]
    pref_rows = list(read_jsonl(pref_path)) if pref_path.is_file() else []
    tok = load_tokenizer(ctx.run.tokenizer_dir)
    trained = ctx.run.trained_models()
    results: dict[str, dict[str, Any]] = {}
    for name in e.models:
        model_dir: Path | None = None
        if name == "init":
            if cfg.model.base is None:
                model = initial_model(cfg.model, tok, cfg.seed)
            else:
                model = load_model(cfg.model.base, cfg.model.dtype, cfg.model.attn_implementation,
                                   device_map=spread_over_gpus())
                model_dir = Path(cfg.model.base) if Path(cfg.model.base).is_dir() else None
        elif name in trained:
            model_dir = trained[name]
            model = load_model(model_dir, cfg.model.dtype, device_map=spread_over_gpus())
        else:
            continue  # stage disabled
        engine = HFEngine(model, tok, batch_size=e.batch_size)
        res: dict[str, Any] = {}
        if e.perplexity and heldout:
            # the engine's perplexity plus per-document NLL (eval/items/), for the report's intervals
            from medgo.eval.regressions import perplexity_with_items

            res.update(perplexity_with_items(engine, heldout, e.perplexity_block_size, ctx.out / "items" / name))
        if e.preference_accuracy and pref_rows:
            res.update(preference_accuracy(engine, pref_rows))
        suite_eng = suite_engine(cfg, name, model_dir, engine)
        for sname in STAGE_SUITES:
            section = getattr(e, sname)
            if section is None or not section.enabled or name not in getattr(section, "models", [name]):
                continue
            suite = get_suite(sname)
            inputs = StageInputs(model=name, out=ctx.out / sname / name, data_dir=data_root(getattr(section, "data_dir", None)),
                                 run_data=data)
            row = suite.for_stage(suite_eng, section, inputs)
            if suite.merge_prefix is not None:
                res.update({f"{suite.merge_prefix}{k}": v for k, v in row.items()})
            else:
                res[sname] = row
        results[name] = res
        console.print(f"eval {name}: " + ", ".join(f"{k}={v:.4g}" for k, v in res.items() if isinstance(v, float)))
        del engine, model, suite_eng
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
    from medgo.eval.regressions import write_regressions  # each stage vs the one before and vs init, with CIs

    write_regressions(ctx.out, results, e.classification.labels if e.classification else None, cfg.seed)
    flat = {f"{m}/{k}": v for m, r in results.items() for k, v in r.items() if isinstance(v, (int, float))}
    return StageResult(metrics=flat, extra={"results": results})
