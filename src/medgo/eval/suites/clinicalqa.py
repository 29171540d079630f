"""ClinicalQA suite: answers from a model (and a baseline), reference-based scores (char-level ROUGE-L, BLEU with
sacrebleu's Chinese tokenizer, weighted rubric coverage, must-not-say hits), optional LLM-judge absolute scores
and pairwise model-vs-baseline, aggregated per department and question type; answers.jsonl, scores.json,
scores.md and plots under the output folder."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medgo.eval.clinicalqa import Case, build_prompt, case_text
from medgo.eval.clinicalqa.convert import load_set
from medgo.eval.judge import DIMENSIONS, Judge, summarise_pairwise
from medgo.eval.suite import write_outputs
from medgo.inference.base import Engine, GenerationParams

SCORERS = ("reference", "judge", "pairwise")
NEGATIONS = ("不", "勿", "禁", "避免", "切忌", "无需", "别")  # a must-not-say phrase right after these is no hit
REF_METRICS = ("rougeL", "bleu", "rubric_coverage", "must_not_say_hits")


# -- reference-based scores ----------------------------------------------------------------------------------
def rouge_l(pred: str, ref: str) -> float:
    """Character-level ROUGE-L F1 (rouge-chinese on per-character tokens, as medgo.eval.metrics.rouge splits)."""
    from rouge_chinese import Rouge

    from medgo.eval.metrics.rouge import char_split

    return float(Rouge(metrics=["rouge-l"]).get_scores([char_split(pred)], [char_split(ref)])[0]["rouge-l"]["f"])


def bleu(pred: str, ref: str) -> float:
    """Sentence BLEU (0-100) with sacrebleu's `zh` tokenizer (Chinese characters split, other text by 13a)."""
    import sacrebleu

    return float(sacrebleu.sentence_bleu(pred, [ref], tokenize="zh").score)


def corpus_sacrebleu(preds: Sequence[str], refs: Sequence[str]) -> float:
    import sacrebleu

    return float(sacrebleu.corpus_bleu(list(preds), [list(refs)], tokenize="zh").score) if refs else 0.0


def _phrases(item: dict[str, Any]) -> list[str]:
    return list(item.get("match") or []) or [item["point"]]


def rubric_coverage(answer: str, rubric: Sequence[dict[str, Any]]) -> tuple[float | None, list[bool]]:
    """Weighted share of rubric points whose point text or any `match` phrase occurs in the answer."""
    if not rubric:
        return None, []
    hits = [any(p in answer for p in _phrases(r)) for r in rubric]
    total = sum(float(r.get("weight", 1.0)) for r in rubric)
    return sum(float(r.get("weight", 1.0)) for r, h in zip(rubric, hits, strict=True) if h) / total, hits


def _negated(answer: str, start: int) -> bool:
    before = answer[max(0, start - 4) : start]
    return any(n in before for n in NEGATIONS)


def must_not_say_hits(answer: str, items: Sequence[dict[str, Any]]) -> list[str]:
    """Points of dangerous advice found in the answer. An occurrence within 4 characters after a negation
    ('不要在家观察') is not counted: advice against the danger is not the danger."""
    found = []
    for it in items:
        for p in _phrases(it):
            i = answer.find(p)
            while i != -1 and _negated(answer, i):
                i = answer.find(p, i + 1)
            if i != -1:
                found.append(it["point"])
                break
    return found


def reference_scores(answer: str, case: Case) -> dict[str, Any]:
    ref = case.get("reference")
    cov, hits = rubric_coverage(answer, case.get("rubric") or [])
    bad = must_not_say_hits(answer, case.get("must_not_say") or [])
    return {"rougeL": rouge_l(answer, ref) if ref else None, "bleu": bleu(answer, ref) if ref else None,
            "rubric_coverage": cov, "rubric_hits": hits,
            "must_not_say_hits": len(bad) if case.get("must_not_say") else None, "must_not_say": bad}


# -- aggregation ---------------------------------------------------------------------------------------------
def _mean(xs: Sequence[float | None]) -> float | None:
    v = [x for x in xs if x is not None]
    return sum(v) / len(v) if v else None


def aggregate(rows: Sequence[dict[str, Any]], system: str, keys: Sequence[str], by: str | None = None
              ) -> dict[str, dict[str, Any]]:
    """Mean of each metric over rows (per value of `by`, or 'all'), with the count of rows that had it."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r.get(by) or "(none)") if by else "all"].append(r)
    out = {}
    for g, rs in sorted(groups.items()):
        sc = [r["scores"].get(system, {}) for r in rs]
        out[g] = {"n": len(rs), **{k: _mean([s.get(k) for s in sc]) for k in keys},
                  **{f"n_{k}": sum(s.get(k) is not None for s in sc) for k in keys}}
    return out


# -- the run -------------------------------------------------------------------------------------------------
@dataclass
class ClinicalQASpec:
    sets: list[str] = field(default_factory=lambda: ["sample"])
    data_dir: Path | None = None
    limit: int | None = None
    scorers: list[str] = field(default_factory=lambda: ["reference"])
    max_new_tokens: int = 512
    labels: dict[str, str] = field(default_factory=dict)  # model / baseline / judge names shown in the report
    n_boot: int = 2000
    seed: int = 0
    baseline: Engine | None = None  # the system compared against (pairwise)
    judge: Judge | None = None


def load_cases_for(spec: ClinicalQASpec) -> tuple[list[Case], dict[str, str]]:
    cases, sources = [], {}
    for name in spec.sets:
        cs, src = load_set(name, spec.data_dir)
        cs = cs[: spec.limit] if spec.limit else cs
        sources[name] = src
        cases += [{**c, "set": name} for c in cs]
    return cases, sources


def answer(engine: Engine, cases: Sequence[Case], max_new_tokens: int) -> list[str]:
    outs = engine.generate([build_prompt(c) for c in cases], GenerationParams(max_new_tokens=max_new_tokens))
    return [o.text.strip() for o in outs]


def run_clinicalqa(engine: Engine, spec: ClinicalQASpec, out: Path | None = None, baseline: Engine | None = None,
                   judge: Judge | None = None, answers: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """`answers` ({"model": [...], "baseline": [...]}) skips generation (re-scoring saved answers)."""
    cases, sources = load_cases_for(spec)
    systems = ["model"] + (["baseline"] if baseline is not None or (answers and "baseline" in answers) else [])
    t0 = time.perf_counter()
    ans = dict(answers or {})
    if "model" not in ans:
        ans["model"] = answer(engine, cases, spec.max_new_tokens)
    if "baseline" in systems and "baseline" not in ans:
        assert baseline is not None
        ans["baseline"] = answer(baseline, cases, spec.max_new_tokens)
    gen_s = time.perf_counter() - t0
    rows: list[dict[str, Any]] = []
    for i, c in enumerate(cases):
        rows.append({"id": c["id"], "set": c["set"], "department": c.get("department", ""), "qtype": c.get("qtype", ""),
                     "question": c["question"], "case_text": case_text(c), "reference": c.get("reference"),
                     "answers": {s: ans[s][i] for s in systems}, "scores": {s: {} for s in systems}})
    summary: dict[str, Any] = {"suite": "clinicalqa", "n": len(cases), "sources": sources, "systems": systems,
                               "labels": {"model": engine.name, **({"baseline": baseline.name} if baseline else {}),
                                          **spec.labels},
                               "generation_seconds": gen_s}
    keys: list[str] = []
    if "reference" in spec.scorers:
        keys += list(REF_METRICS)
        for r, c in zip(rows, cases, strict=True):
            for s in systems:
                r["scores"][s].update(reference_scores(r["answers"][s], c))
        summary["corpus_bleu"] = {s: corpus_sacrebleu([r["answers"][s] for r in rows if r["reference"]],
                                                 [r["reference"] for r in rows if r["reference"]]) for s in systems}
    if judge is not None and "judge" in spec.scorers:
        keys += list(DIMENSIONS)
        for s in systems:
            items = [{"question": r["question"], "answer": r["answers"][s], "case_text": r["case_text"],
                      "reference": r["reference"], "rubric": c.get("rubric")} for r, c in zip(rows, cases, strict=True)]
            for r, v in zip(rows, judge.absolute(items), strict=True):
                r["scores"][s]["judge"] = v
                r["scores"][s].update({d: v.get(d) for d in DIMENSIONS})
        summary["judge_failures"] = sum(r["scores"][s]["judge"].get("error") is not None for r in rows for s in systems)
    if judge is not None and "pairwise" in spec.scorers and "baseline" in systems:
        items = [{"question": r["question"], "model": r["answers"]["model"], "baseline": r["answers"]["baseline"],
                  "case_text": r["case_text"], "reference": r["reference"], "rubric": c.get("rubric")}
                 for r, c in zip(rows, cases, strict=True)]
        for r, v in zip(rows, judge.pairwise(items), strict=True):
            r["pairwise"] = v
        summary["pairwise"] = pairwise_tables(rows, spec.n_boot, spec.seed)
    if judge is not None:
        summary["judge"] = {"calls": judge.calls, "malformed_replies": judge.malformed,
                            "http_retries": getattr(judge.engine, "retries", 0)}
    summary["metrics"] = keys
    summary["overall"] = {s: aggregate(rows, s, keys)["all"] for s in systems}
    summary["by_department"] = {s: aggregate(rows, s, keys, "department") for s in systems}
    summary["by_qtype"] = {s: aggregate(rows, s, keys, "qtype") for s in systems}
    if out is not None:
        write_clinicalqa(summary, rows, out)
    return summary


def pairwise_tables(rows: Sequence[dict[str, Any]], n_boot: int = 2000, seed: int = 0,
                    key: str = "pairwise") -> dict[str, Any]:
    res: dict[str, Any] = {"overall": summarise_pairwise([r[key]["outcome"] for r in rows], n_boot, seed)}
    for by in ("department", "qtype"):
        groups: dict[str, list[str | None]] = defaultdict(list)
        for r in rows:
            groups[r.get(by) or "(none)"].append(r[key]["outcome"])
        res[f"by_{by}"] = {g: summarise_pairwise(o, n_boot, seed) for g, o in sorted(groups.items())}
    return res


def write_clinicalqa(summary: dict[str, Any], rows: Sequence[dict[str, Any]], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    summary["plots"] = plot(summary, out)
    write_outputs(out, summary, markdown(summary), {"answers.jsonl": rows})


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None:
        return "–"
    return f"{100 * v:.1f}" if pct else f"{v:.2f}"


PCT = {"rougeL", "rubric_coverage"}


def markdown(summary: dict[str, Any]) -> str:
    lab = summary["labels"]
    keys = summary["metrics"]
    lines = [f"ClinicalQA: {summary['n']} questions ({', '.join(summary['sources'])}); model = {lab.get('model')}"
             + (f", baseline = {lab.get('baseline')}" if "baseline" in summary["systems"] else "")
             + (f", judge = {lab['judge']}" if lab.get("judge") else ""), ""]
    if lab.get("note"):
        lines += [f"Note: {lab['note']}", ""]
    if keys:
        lines += ["ROUGE-L and rubric coverage in %, BLEU 0-100 (sacrebleu zh), judge scores 1-5.", "",
                  "| group | system | n | " + " | ".join(keys) + " |", "|---" * (len(keys) + 3) + "|"]
        for title, table in (("all", {s: {"all": summary["overall"][s]} for s in summary["systems"]}),
                             ("department", summary["by_department"]), ("qtype", summary["by_qtype"])):
            for s in summary["systems"]:
                for g, m in table[s].items():
                    name = "all" if title == "all" else f"{title}: {g}"
                    lines.append(f"| {name} | {s} | {m['n']} | "
                                 + " | ".join(_fmt(m.get(k), k in PCT) for k in keys) + " |")
        lines.append("")
    pw = summary.get("pairwise")
    if pw:
        lines += pairwise_markdown(pw, "Pairwise (model vs baseline, judged in both orders)")
    return "\n".join(lines) + "\n"


def pairwise_markdown(pw: dict[str, Any], title: str) -> list[str]:
    lines = [title, "", "| group | n | win | tie | loss | win rate (95% CI) | net (95% CI) | unjudged |",
             "|---|---|---|---|---|---|---|---|"]
    groups = [("all", pw["overall"])] + [(f"{k[3:]}: {g}", v) for k in ("by_department", "by_qtype")
                                         for g, v in pw.get(k, {}).items()]
    for g, r in groups:
        if not r["n"]:
            lines.append(f"| {g} | 0 | – | – | – | – | – | {r['unjudged']} |")
            continue
        lo, hi = r["win_rate_ci95"]
        nlo, nhi = r["net_ci95"]
        lines.append(f"| {g} | {r['n']} | {r['win']} | {r['tie']} | {r['loss']} | {r['win_rate']:.3f} "
                     f"[{lo:.3f}, {hi:.3f}] | {r['net']:+.3f} [{nlo:+.3f}, {nhi:+.3f}] | {r['unjudged']} |")
    return lines + [""]


def plot(summary: dict[str, Any], out: Path) -> list[str]:
    """Bar charts: a headline metric per department for each system, and the pairwise win/tie/loss split."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    metric = next((k for k in ("rubric_coverage", "rougeL", "accuracy") if k in summary["metrics"]), None)
    if metric:
        deps = sorted({g for s in summary["systems"] for g in summary["by_department"][s]})
        fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(deps)), 3.5))
        w = 0.8 / len(summary["systems"])
        for j, s in enumerate(summary["systems"]):
            vals = [summary["by_department"][s].get(d, {}).get(metric) or 0.0 for d in deps]
            ax.bar([i + j * w for i in range(len(deps))], vals, w, label=summary["labels"].get(s, s))
        ax.set_xticks([i + w * (len(summary["systems"]) - 1) / 2 for i in range(len(deps))])
        ax.set_xticklabels([f"d{i}" for i in range(len(deps))])  # CJK fonts may be absent: index, legend in md
        ax.set_ylabel(metric)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "by_department.png", dpi=100)
        plt.close(fig)
        written.append("by_department.png")
    pw = summary.get("pairwise")
    if pw and pw["overall"]["n"]:
        o = pw["overall"]
        fig, ax = plt.subplots(figsize=(6, 1.6))
        left = 0.0
        for k, col in (("win", "tab:green"), ("tie", "tab:gray"), ("loss", "tab:red")):
            ax.barh([0], [o[k] / o["n"]], left=left, color=col, label=f"{k} {o[k]}")
            left += o[k] / o["n"]
        ax.set_xlim(0, 1)
        ax.set_yticks([])
        ax.legend(loc="upper center", ncol=3, bbox_to_anchor=(0.5, -0.3))
        fig.tight_layout()
        fig.savefig(out / "pairwise.png", dpi=100)
        plt.close(fig)
        written.append("pairwise.png")
    return written
