"""A labelled classification check (KUAKE-QIC style), scored by label log-likelihood and by generation."""

from __future__ import annotations

from collections import Counter
from typing import Any

from medgo.config.schema import ClassificationEvalConfig
from medgo.inference.base import Engine, GenerationParams
from medgo.model.tokenizer import IM_END


def build_prompt(template: str, text: str, labels: list[str]) -> list[dict[str, str]]:
    return [{"role": "user", "content": template.format(text=text, labels="，".join(labels))}]


def parse_label(output: str, labels: list[str]) -> str | None:
    """The label mentioned first in the output (longest wins on ties, so '病情诊断' beats '病情')."""
    best: tuple[int, int, str] | None = None
    for lab in labels:
        j = output.find(lab)
        if j != -1 and (best is None or (j, -len(lab)) < (best[0], best[1])):
            best = (j, -len(lab), lab)
    return best[2] if best else None


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
        preds = [parse_label(o.text, labels) for o in outs]
        for po, o, p in zip(preds_out, outs, preds, strict=True):
            po["generated"], po["generate"] = o.text, p
        m = accuracy_and_macro_f1(golds, preds, labels)
        metrics.update({f"generate_{k}": v for k, v in m.items()})
        metrics["generate_parse_failures"] = sum(p is None for p in preds)
    metrics["majority_baseline"] = max(Counter(golds).values()) / len(golds) if golds else 0.0
    return metrics, preds_out
