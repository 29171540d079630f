"""Stage-over-stage regressions with bootstrap 95% intervals over items.

The eval stage writes per-item values next to its scores (`eval/items/<model>/perplexity.json`: NLL and
token count per held-out document; the classification check's predictions file gives correctness per
item). For each metric, each evaluated stage is compared with the stage before it and with the base model
(`init`): the change of the metric, and a paired bootstrap 95% interval of that change (the same resampled
items for both models, percentile interval). A change for the worse whose interval excludes zero is a
flagged regression. The eval stage writes every comparison to `eval/regressions.json`; the report stage
(which may not import this package) renders it, lists the flags at its top, and under
`eval.regressions: fail` stops the run.

CBLUE and exam scores get their items from the suites' predictions files (accuracy, macro-F1 and set
micro-F1 tasks; per-item values are used only where they reproduce the score in results.json exactly).
Metrics with no per-item values (preference accuracy, ROUGE-type scores) appear in the table with their
change but no interval, and are never flagged."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ORDER = ("init", "pretrain", "sft", "preference")
STAGE_LABELS = {"init": "base model", "pretrain": "pre-training", "sft": "SFT", "preference": "preference alignment"}
N_BOOT = 1000

# metric key in eval/results.json -> (label, lower is better)
METRICS: dict[str, tuple[str, bool]] = {
    "perplexity": ("held-out perplexity", True),
    "bits_per_char": ("held-out bits/char", True),
    "cls_loglik_accuracy": ("classification accuracy (label log-lik)", False),
    "cls_loglik_macro_f1": ("classification macro-F1 (label log-lik)", False),
    "cls_generate_accuracy": ("classification accuracy (generate+parse)", False),
    "pref_accuracy": ("held-out preference accuracy", False),
}

# one line each: what usually undoes a regression that a stage introduced
LEVERS = {
    "pretrain": "fewer pre-training steps or a lower pretrain.learning_rate; check the corpus mix",
    "sft": "replay pre-training text in SFT (mix corpus documents into data.sft), a lower sft.learning_rate, "
           "fewer sft.epochs, or model.finetuning=lora",
    "preference": "a lower preference.learning_rate or a larger preference.beta, fewer preference.epochs, "
                  "replay of SFT / pre-training text, or model.finetuning=lora",
}


# -- per-item values, written by the eval stage --------------------------------------------------------------

def perplexity_with_items(engine: Any, texts: list[str], block_size: int, out_dir: Path | None) -> dict[str, float]:
    """`HFEngine.perplexity` (same packing, same batches, same numbers) that also attributes every predicted
    token's NLL to its document and writes {nll, tokens, chars} per document to `out_dir/perplexity.json`."""
    import torch
    import torch.nn.functional as F

    from medgo.model.packing import end_of_text_id

    eot = end_of_text_id(engine.tok)
    stream: list[int] = []
    owner: list[int] = []
    for d, t in enumerate(texts):
        ids = engine.tok.encode(t, add_special_tokens=False) + [eot]
        stream += ids
        owner += [d] * len(ids)
    starts = list(range(0, len(stream), block_size))
    blocks = [stream[s : s + block_size] for s in starts]
    doc_nll = [0.0] * len(texts)
    doc_tok = [0] * len(texts)
    nll, n_tok = 0.0, 0
    with torch.inference_mode():
        for i in range(0, len(blocks), engine.batch_size):
            batch = blocks[i : i + engine.batch_size]
            width = max(len(b) for b in batch)
            pad = engine.tok.pad_token_id
            ids = torch.tensor([b + [pad] * (width - len(b)) for b in batch], device=engine.device)
            attn = torch.tensor([[1] * len(b) + [0] * (width - len(b)) for b in batch], device=engine.device)
            labels = ids.masked_fill(attn == 0, -100)
            logits = engine.model(input_ids=ids, attention_mask=attn).logits.float()
            loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)), labels[:, 1:].reshape(-1),
                                   ignore_index=-100, reduction="none").view(len(batch), width - 1)
            nll += float(loss.sum().item())
            n_tok += int((labels[:, 1:] != -100).sum().item())
            per = loss.tolist()
            for r, b in enumerate(batch):
                s = starts[i + r]
                for j in range(1, len(b)):
                    d = owner[s + j]
                    doc_nll[d] += per[r][j - 1]
                    doc_tok[d] += 1
    chars = sum(len(t) for t in texts)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "perplexity.json").write_text(json.dumps(
            {"nll": doc_nll, "tokens": doc_tok, "chars": [len(t) for t in texts]}), encoding="utf-8")
    return {"perplexity": math.exp(nll / max(n_tok, 1)), "nll_per_token": nll / max(n_tok, 1),
            "bits_per_char": nll / math.log(2) / max(chars, 1), "tokens": n_tok}


# -- item metrics ------------------------------------------------------------------------------------------

@dataclass
class Items:
    """Per-item values of one metric for one model, keyed by item id; `agg` turns a list of values into the
    metric (the same function for every resample)."""

    values: dict[str, Any]
    agg: Callable[[Sequence[Any]], float]


def _ppl(vals: Sequence[tuple[float, int, int]]) -> float:
    tok = sum(v[1] for v in vals)
    return math.exp(sum(v[0] for v in vals) / tok) if tok else float("nan")


def _bpc(vals: Sequence[tuple[float, int, int]]) -> float:
    chars = sum(v[2] for v in vals)
    return sum(v[0] for v in vals) / math.log(2) / chars if chars else float("nan")


def _mean(vals: Sequence[float]) -> float:
    return sum(vals) / len(vals) if vals else float("nan")


def _macro_f1(vals: Sequence[tuple[str, str | None]], labels: Iterable[str]) -> float:
    """Mean over `labels` of each label's F1 on (gold, pred) pairs (0 for a label never predicted right)."""
    f1s = []
    for lab in labels:
        tp = sum(g == lab and p == lab for g, p in vals)
        fp = sum(g != lab and p == lab for g, p in vals)
        fn = sum(g == lab and p != lab for g, p in vals)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(f1s) / len(f1s) if f1s else 0.0


def _macro_f1_over(labels: Sequence[str]) -> Callable[[Sequence[tuple[str, str | None]]], float]:
    """The classification check's macro-F1 (over the configured labels) of (gold, pred) pairs."""
    def f(vals: Sequence[tuple[str, str | None]]) -> float:
        return _macro_f1(vals, labels)
    f.labels = list(labels)  # type: ignore[attr-defined]  (the bootstrap's vectorised path reads it)
    return f


def _macro_f1_union(vals: Sequence[tuple[str, str | None]]) -> float:
    """CBLUE's macro-F1 (metrics.macro_prf): classes = gold labels and predicted ones; a missing prediction
    counts against its gold class and adds no class."""
    return _macro_f1(vals, {g for g, _ in vals} | {p for _, p in vals if p is not None})


def _micro_f1(vals: Sequence[tuple[int, int, int]]) -> float:
    tp, fp, fn = (sum(v[i] for v in vals) for i in range(3))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _tuples(x: Any) -> Any:
    return tuple(_tuples(v) for v in x) if isinstance(x, list) else x


def _set_counts(gold: Any, pred: Any) -> tuple[int, int, int]:
    g = {_tuples(v) for v in gold or []}
    p = {_tuples(v) for v in pred or []}
    return len(g & p), len(p - g), len(g - p)


CBLUE_ITEMS: dict[str, tuple[Callable[[Any, Any], Any], Callable[[Sequence[Any]], float]]] = {
    "accuracy": (lambda g, p: float(g == p), _mean),
    "macro_f1": (lambda g, p: (g, p), _macro_f1_union),
    "f1": (_set_counts, _micro_f1),
}


def flat_metrics(results: dict[str, dict[str, Any]]) -> tuple[dict[str, dict[str, float]], dict[str, tuple[str, bool]]]:
    """Every comparable number per model: the top-level metrics, and CBLUE / exam scores per task and method
    (keys `cblue:<task>:<method>`, `exams:<task>:<method>`), with their labels."""
    flat: dict[str, dict[str, float]] = {}
    labels: dict[str, tuple[str, bool]] = dict(METRICS)
    for m, r in results.items():
        row = {k: float(v) for k, v in r.items() if k in METRICS and isinstance(v, (int, float))}
        for t, tr in (r.get("cblue") or {}).items():
            for method in ("generate", "loglik"):
                if isinstance(tr, dict) and isinstance(tr.get(method), (int, float)):
                    row[f"cblue:{t}:{method}"] = float(tr[method])
                    labels[f"cblue:{t}:{method}"] = (f"CBLUE {t} {tr.get('metric') or 'score'} ({method})", False)
        for k, v in (r.get("clinicalqa") or {}).items():  # reference-based means; no per-item file here
            if k != "n" and isinstance(v, (int, float)):
                row[f"clinicalqa:{k}"] = float(v)
                labels[f"clinicalqa:{k}"] = (f"ClinicalQA {k}", k == "must_not_say_hits")
        for t, tr in (r.get("exams") or {}).items():
            for method in ("loglik", "loglik_norm", "generate"):
                if isinstance(tr, dict) and isinstance(tr.get(method), (int, float)):
                    row[f"exams:{t}:{method}"] = float(tr[method])
                    labels[f"exams:{t}:{method}"] = (f"exam {t} accuracy ({method})", False)
        flat[m] = row
    return flat, labels


def _suite_items(eval_dir: Path, model: str, results: dict[str, Any]) -> dict[str, Items]:
    """CBLUE / exam items from the predictions files, kept only where they reproduce results.json's score."""
    out: dict[str, Items] = {}
    for suite in ("cblue", "exams"):
        scores = results.get(suite) or {}
        base = eval_dir / suite / model
        if not scores or not base.is_dir():
            continue
        for path in sorted(base.rglob("predictions/*.jsonl")):
            task = path.stem
            tr = scores.get(task)
            if not isinstance(tr, dict):
                continue
            rows = _read_jsonl(path)
            ids = [str(r.get("id") if r.get("id") is not None else r.get("i", i)) for i, r in enumerate(rows)]
            for method in ("generate", "loglik", "loglik_norm"):
                want = tr.get(method)
                if not isinstance(want, (int, float)):
                    continue
                field_ = "parsed" if method == "generate" else method
                if suite == "exams":
                    vals = {k: float(r.get(field_) == r["gold"]) for k, r in zip(ids, rows, strict=True)
                            if method == "generate" or field_ in r}
                    items = Items(vals, _mean)
                else:
                    kind = CBLUE_ITEMS.get(str(tr.get("metric")))
                    if kind is None:
                        continue
                    items = Items({k: kind[0](r.get("gold"), r.get(field_)) for k, r in zip(ids, rows, strict=True)},
                                  kind[1])
                try:
                    ok = items.values and abs(items.agg(list(items.values.values())) - float(want)) < 1e-6
                except (TypeError, ValueError, KeyError):
                    ok = False
                if ok:
                    out[f"{suite}:{task}:{method}"] = items
    return out


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_items(eval_dir: Path, model: str, cls_labels: Sequence[str] | None = None,
               results: dict[str, Any] | None = None) -> dict[str, Items]:
    """Every per-item metric the eval stage left for `model` (CBLUE / exams need the model's `results`)."""
    out: dict[str, Items] = _suite_items(eval_dir, model, results) if results else {}
    p = eval_dir / "items" / model / "perplexity.json"
    if p.is_file():
        d = json.loads(p.read_text(encoding="utf-8"))
        vals = {str(i): (n, t, c) for i, (n, t, c) in enumerate(zip(d["nll"], d["tokens"], d["chars"], strict=True))}
        out["perplexity"] = Items(vals, _ppl)
        out["bits_per_char"] = Items(vals, _bpc)
    for cand in (eval_dir / "classification" / model / "predictions.jsonl", eval_dir / f"predictions.{model}.jsonl"):
        if not cand.is_file():
            continue
        rows = _read_jsonl(cand)
        ids = [str(r.get("id") if r.get("id") is not None else i) for i, r in enumerate(rows)]
        labels = list(cls_labels or sorted({r["gold"] for r in rows}))
        for method in ("loglik", "generate"):
            if rows and method in rows[0]:
                out[f"cls_{method}_accuracy"] = Items(
                    {k: float(r["gold"] == r.get(method)) for k, r in zip(ids, rows, strict=True)}, _mean)
                if method == "loglik":
                    out["cls_loglik_macro_f1"] = Items(
                        {k: (r["gold"], r.get(method)) for k, r in zip(ids, rows, strict=True)}, _macro_f1_over(labels))
        break
    return out


# -- comparison ----------------------------------------------------------------------------------------------

def _macro_resampled(vals: Sequence[tuple[Any, Any]], idx: Any, fixed: Sequence[str] | None) -> Any:
    """Macro-F1 per resample (rows of `idx`): classes = `fixed`, or the gold and predicted labels present."""
    import numpy as np

    names = list(fixed) if fixed is not None else sorted({str(g) for g, _ in vals} | {str(p) for _, p in vals if p is not None})
    code = {n: i for i, n in enumerate(names)}
    big = len(names)  # a label outside the classes (or a missing prediction): counts, but adds no class
    g = np.array([code.get(str(x), big) for x, _ in vals])
    pr = np.array([big + 1 if y is None else code.get(str(y), big) for _, y in vals])
    out = np.empty(len(idx))
    for r, row in enumerate(idx):
        gi, pi = g[row], pr[row]
        hit = gi == pi
        tp = np.bincount(gi[hit], minlength=big + 2)[:big]
        gc = np.bincount(gi, minlength=big + 2)[:big]
        pc = np.bincount(pi, minlength=big + 2)[:big]
        f1 = np.where(tp > 0, 2 * tp / np.maximum(gc + pc, 1), 0.0)
        present = np.ones(big, bool) if fixed is not None else (gc + pc) > 0
        out[r] = f1[present].mean() if present.any() else 0.0
    return out


def _resampled(items: Items, vals: list[Any], idx: Any) -> Any:
    """agg over each row of resampled indices, vectorised for the aggregates this module defines."""
    import numpy as np

    agg = items.agg
    if agg is _mean:
        return np.asarray(vals, float)[idx].mean(axis=1)
    if agg in (_ppl, _bpc, _micro_f1):
        s = np.asarray(vals, float)[idx].sum(axis=1)  # (rows, 3)
        with np.errstate(divide="ignore", invalid="ignore"):
            if agg is _ppl:
                return np.where(s[:, 1] > 0, np.exp(s[:, 0] / s[:, 1]), np.nan)
            if agg is _bpc:
                return np.where(s[:, 2] > 0, s[:, 0] / math.log(2) / s[:, 2], np.nan)
            return np.where(s[:, 0] > 0, 2 * s[:, 0] / (2 * s[:, 0] + s[:, 1] + s[:, 2]), 0.0)
    if agg is _macro_f1_union:
        return _macro_resampled(vals, idx, None)
    if getattr(agg, "labels", None) is not None:
        return _macro_resampled(vals, idx, agg.labels)
    return np.array([agg([vals[i] for i in row]) for row in idx])


def paired_bootstrap(a: Items, b: Items, n_boot: int = N_BOOT, seed: int = 0) -> tuple[float, float, int] | None:
    """95% percentile interval of agg(b) - agg(a) over items both models have, resampled together."""
    import numpy as np

    keys = [k for k in a.values if k in b.values]
    if len(keys) < 2:
        return None
    av, bv = [a.values[k] for k in keys], [b.values[k] for k in keys]
    n = len(keys)
    rng = np.random.default_rng(seed)
    diffs = []
    for start in range(0, n_boot, 100):  # bounded memory for large item sets
        idx = rng.integers(0, n, size=(min(100, n_boot - start), n))
        diffs.append(_resampled(b, bv, idx) - _resampled(a, av, idx))
    d = np.concatenate(diffs)
    d = d[~np.isnan(d)]
    if not len(d):
        return None
    return float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5)), n


@dataclass
class Comparison:
    metric: str
    label: str
    model: str
    baseline: str
    before: float
    after: float
    lower_is_better: bool
    ci: tuple[float, float] | None = None
    n: int | None = None
    kind: str = "previous"  # "previous" stage or "base" model
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def delta(self) -> float:
        return self.after - self.before

    @property
    def worse(self) -> bool:
        return self.delta > 0 if self.lower_is_better else self.delta < 0

    @property
    def significant(self) -> bool:
        return self.ci is not None and (self.ci[0] > 0 or self.ci[1] < 0)

    @property
    def flagged(self) -> bool:
        return self.worse and self.significant and not self.extra.get("same_as")

    def verdict(self) -> str:
        if self.extra.get("same_as") and self.worse and self.significant:
            return f"worse (flagged as {self.extra['same_as']})"
        if self.ci is None:
            return "worse (no interval)" if self.worse else ("better (no interval)" if self.delta else "same")
        if not self.significant:
            return "no clear change"
        return "worse" if self.worse else "better"

    def headline(self) -> str:
        """"SFT: held-out perplexity 177 → 1,424, worse (vs pre-training; 95% CI of the change +1,100 to +1,800,
        60 items)"."""
        ci = f"95% CI of the change {fmt_signed(self.ci[0])} to {fmt_signed(self.ci[1])}, {self.n} items" if self.ci else ""
        return (f"{STAGE_LABELS.get(self.model, self.model)}: {self.label} {fmt(self.before)} → {fmt(self.after)}, "
                f"{self.verdict()} (vs {STAGE_LABELS.get(self.baseline, self.baseline)}{'; ' + ci if ci else ''})")

    def lever(self) -> str:
        return LEVERS.get(self.model, "")


def fmt(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.3g}" if abs(v) >= 1 else f"{v:.3f}"


def fmt_signed(v: float) -> str:
    return ("+" if v > 0 else "") + fmt(v) if v else "0"


def compare(results: dict[str, dict[str, Any]], items: dict[str, dict[str, Items]],
            n_boot: int = N_BOOT, seed: int = 0) -> list[Comparison]:
    """Each metric of each evaluated stage against the stage before it and against `init`."""
    models = [m for m in ORDER if m in results] + [m for m in results if m not in ORDER]
    flat, labels = flat_metrics(results)
    out: list[Comparison] = []
    keys = list(dict.fromkeys(k for m in models for k in flat[m]))
    for key in sorted(keys, key=lambda k: (list(METRICS).index(k) if k in METRICS else len(METRICS), k)):
        label, lower = labels[key]
        have = [m for m in models if key in flat[m]]
        for i, m in enumerate(have[1:], 1):
            pairs = [(have[i - 1], "previous")]
            if have[0] == "init" and have[i - 1] != "init":
                pairs.append(("init", "base"))
            for base, kind in pairs:
                c = Comparison(key, label, m, base, flat[base][key], flat[m][key], lower, kind=kind)
                a, b = items.get(base, {}).get(key), items.get(m, {}).get(key)
                if a is not None and b is not None and (boot := paired_bootstrap(a, b, n_boot, seed)) is not None:
                    c.ci, c.n = (boot[0], boot[1]), boot[2]
                out.append(c)
    # bits/char is the perplexity's documents again: one flag per stage pair, on the perplexity
    ppl = {(c.model, c.baseline) for c in out if c.metric == "perplexity" and c.flagged}
    for c in out:
        if c.metric == "bits_per_char" and (c.model, c.baseline) in ppl:
            c.extra["same_as"] = "held-out perplexity"
    return out


def flagged(comparisons: Sequence[Comparison]) -> list[Comparison]:
    return [c for c in comparisons if c.flagged]


def to_json(c: Comparison) -> dict[str, Any]:
    return {"metric": c.metric, "label": c.label, "model": c.model, "baseline": c.baseline, "kind": c.kind,
            "model_label": STAGE_LABELS.get(c.model, c.model), "baseline_label": STAGE_LABELS.get(c.baseline, c.baseline),
            "before": c.before, "after": c.after, "change": c.delta, "ci95": list(c.ci) if c.ci else None,
            "items": c.n, "lower_is_better": c.lower_is_better, "worse": c.worse, "verdict": c.verdict(),
            "flagged": c.flagged, "headline": c.headline(), "lever": c.lever(),
            "text": {k: fmt(v) for k, v in (("before", c.before), ("after", c.after))}
            | {"change": fmt_signed(c.delta),
               "ci95": f"{fmt_signed(c.ci[0])} to {fmt_signed(c.ci[1])}" if c.ci else None}}


def write_regressions(eval_dir: Path, results: dict[str, dict[str, Any]], cls_labels: Sequence[str] | None = None,
                      seed: int = 0, n_boot: int = N_BOOT) -> Path:
    """Compare every evaluated model (items from `eval_dir`) and write `eval_dir/regressions.json`."""
    items = {m: load_items(eval_dir, m, cls_labels, results[m]) for m in results}
    comps = compare(results, items, n_boot=n_boot, seed=seed)
    path = eval_dir / "regressions.json"
    path.write_text(json.dumps({"n_boot": n_boot, "seed": seed, "comparisons": [to_json(c) for c in comps]},
                               ensure_ascii=False, indent=2), encoding="utf-8")
    return path
