"""A labelled classification check (KUAKE-QIC style), scored by label log-likelihood and by generation."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from medgo.config.schema import ClassificationEvalConfig
from medgo.data.jsonl import read_jsonl
from medgo.errors import ConfigError
from medgo.eval.suite import EvalOptions, StageInputs, write_outputs
from medgo.eval.tasks.parsers import parse_label as parse_label_id
from medgo.inference.base import Engine, GenerationParams
from medgo.model.tokenizer import IM_END


def build_prompt(template: str, text: str, labels: list[str]) -> list[dict[str, str]]:
    return [{"role": "user", "content": template.format(text=text, labels="，".join(labels))}]


def accuracy_and_macro_f1(golds: list[str], preds: list[str | None], labels: list[str]) -> dict[str, float]:
    n = len(golds)
    acc = sum(g == p for g, p in zip(golds, preds, strict=True)) / n if n else 0.0
    f1s = []
    tp, fp, fn = Counter(), Counter(), Counter()
    for g, p in zip(golds, preds, strict=True):
        if g == p:
            tp[g] += 1
        else:
            fn[g] += 1
            if p is not None:
                fp[p] += 1
    for lab in labels:
        prec = tp[lab] / (tp[lab] + fp[lab]) if tp[lab] + fp[lab] else 0.0
        rec = tp[lab] / (tp[lab] + fn[lab]) if tp[lab] + fn[lab] else 0.0
        f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    return {"accuracy": acc, "macro_f1": sum(f1s) / len(f1s) if f1s else 0.0}


def evaluate_classification(
    engine: Engine, rows: list[dict[str, Any]], cfg: ClassificationEvalConfig
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rows = rows[: cfg.max_examples] if cfg.max_examples else rows
    labels = cfg.labels
    prompts = [build_prompt(cfg.template, r["text"], labels) for r in rows]
    golds = [r["label"] for r in rows]
    metrics: dict[str, Any] = {"n": len(rows)}
    preds_out = [{"id": r.get("id"), "gold": r["label"]} for r in rows]
    if "loglik" in cfg.methods:
        # Each label scored as a complete answer (label + end of turn), so a prefix label gets no credit.
        reqs = [(p, lab + IM_END) for p in prompts for lab in labels]
        scores = [s for s, _ in engine.loglikelihood(reqs)]
        preds = []
        for i in range(len(rows)):
            s = scores[i * len(labels) : (i + 1) * len(labels)]
            preds.append(labels[max(range(len(labels)), key=s.__getitem__)])
        for po, p in zip(preds_out, preds, strict=True):
            po["loglik"] = p
        m = accuracy_and_macro_f1(golds, preds, labels)
        metrics.update({f"loglik_{k}": v for k, v in m.items()})
    if "generate" in cfg.methods:
        outs = engine.generate(prompts, GenerationParams(max_new_tokens=16, temperature=0.0))
        preds = [parse_label_id(o.text, {lab: lab for lab in labels}) for o in outs]
        for po, o, p in zip(preds_out, outs, preds, strict=True):
            po["generated"], po["generate"] = o.text, p
        m = accuracy_and_macro_f1(golds, preds, labels)
        metrics.update({f"generate_{k}": v for k, v in m.items()})
        metrics["generate_parse_failures"] = sum(p is None for p in preds)
    metrics["majority_baseline"] = max(Counter(golds).values()) / len(golds) if golds else 0.0
    return metrics, preds_out


class ClassificationSuite:
    """The run's own labelled check (data.eval_cls); it runs inside the eval stage, not from `medgo eval run`."""

    name = "classification"
    merge_prefix = "cls_"

    def spec(self, opts: EvalOptions) -> Any:
        raise ConfigError("the classification check runs inside the eval stage, on the run's labelled set",
                          hint="set eval.classification in the run config and run `medgo run`")

    def run(self, engine: Engine, spec: tuple[list[dict[str, Any]], ClassificationEvalConfig],
            out: Path | None = None) -> dict[str, Any]:
        rows, cfg = spec
        metrics, preds = evaluate_classification(engine, rows, cfg)
        summary = {"suite": self.name, "engine": engine.name, "metrics": metrics}
        if out is not None:
            write_outputs(out, summary, self.markdown(summary), {"predictions.jsonl": preds})
        return summary

    def markdown(self, summary: dict[str, Any]) -> str:
        m = summary["metrics"]
        lines = [f"Classification check (engine {summary['engine']}, n={m['n']})", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v:.4f} |" for k, v in m.items() if isinstance(v, float)]
        return "\n".join(lines) + "\n"

    def for_stage(self, engine: Engine, section: ClassificationEvalConfig, inputs: StageInputs) -> dict[str, Any]:
        path = inputs.run_data / "eval_cls.jsonl" if inputs.run_data else None
        rows = list(read_jsonl(path)) if path and path.is_file() else []
        if not rows:
            return {}
        return self.run(engine, (rows, section), inputs.out)["metrics"]
