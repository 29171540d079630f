"""Stage-over-stage regressions: per-document perplexity adds up to the engine's, the paired bootstrap
flags a constructed regression (and not noise), and the eval stage's regressions.json carries it
(tests/report/ checks the report's flags and eval.regressions=fail)."""

from __future__ import annotations

import json
import math
import random

import pytest

from medgo.config.schema import ModelConfig, TinyModelConfig
from medgo.eval.regressions import (
    Items,
    _bpc,
    compare,
    flagged,
    load_items,
    paired_bootstrap,
    perplexity_with_items,
    write_regressions,
)
from medgo.inference.hf import HFEngine
from medgo.model.factory import build_tiny_qwen2
from medgo.model.tokenizer import train_bpe_tokenizer

TEXTS = ["头痛可以吃布洛芬。", "高血压要低盐饮食，按时服用氨氯地平。", "糖尿病需要监测血糖。", "发热三天，咳嗽有痰。"] * 6


@pytest.fixture(scope="module")
def engine() -> HFEngine:
    tok = train_bpe_tokenizer(TEXTS, vocab_size=350)
    mc = ModelConfig(tiny=TinyModelConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256))
    return HFEngine(build_tiny_qwen2(mc, tok, seed=3), tok, batch_size=4)


def test_perplexity_items_equal_engine_perplexity(engine, tmp_path) -> None:
    ref = engine.perplexity(TEXTS, 16)
    mine = perplexity_with_items(engine, TEXTS, 16, tmp_path / "items" / "init")
    assert mine["perplexity"] == pytest.approx(ref["perplexity"], rel=1e-6)
    assert mine["bits_per_char"] == pytest.approx(ref["bits_per_char"], rel=1e-6)
    assert mine["tokens"] == ref["tokens"]
    d = json.loads((tmp_path / "items" / "init" / "perplexity.json").read_text())
    assert len(d["nll"]) == len(TEXTS) and sum(d["tokens"]) == ref["tokens"]
    assert math.exp(sum(d["nll"]) / sum(d["tokens"])) == pytest.approx(ref["perplexity"], rel=1e-6)
    items = load_items(tmp_path, "init")
    assert items["perplexity"].agg(list(items["perplexity"].values.values())) == pytest.approx(ref["perplexity"], rel=1e-6)


def _ppl_items(rng: random.Random, scale: float, n: int = 60) -> Items:
    from medgo.eval.regressions import _ppl

    return Items({str(i): (scale * 20 * (1 + 0.3 * rng.random()), 20, 30) for i in range(n)}, _ppl)


def _results_and_items(sft_scale: float, seed: int = 0):
    rng = random.Random(seed)
    items = {"init": {"perplexity": _ppl_items(rng, 8.0)}, "pretrain": {"perplexity": _ppl_items(rng, 5.0)},
             "sft": {"perplexity": _ppl_items(rng, sft_scale)}}
    results = {m: {"perplexity": it["perplexity"].agg(list(it["perplexity"].values.values()))} for m, it in items.items()}
    return results, items


def test_constructed_regression_is_flagged() -> None:
    results, items = _results_and_items(sft_scale=7.0)  # exp(5 x 1.15) ~ 315 -> exp(7 x 1.15) ~ 3,100
    for it in items.values():
        it["bits_per_char"] = Items(it["perplexity"].values, _bpc)
    for m, it in items.items():
        results[m]["bits_per_char"] = it["bits_per_char"].agg(list(it["bits_per_char"].values.values()))
    comps = compare(results, items, n_boot=300)
    flags = flagged(comps)
    assert [(c.model, c.baseline, c.metric) for c in flags] == [("sft", "pretrain", "perplexity")]
    bpc = next(c for c in comps if c.metric == "bits_per_char" and c.model == "sft" and c.baseline == "pretrain")
    assert bpc.significant and bpc.worse and bpc.verdict() == "worse (flagged as held-out perplexity)"
    f = flags[0]
    assert f.ci[0] > 0 and f.n == 60
    assert f.headline().startswith(f"SFT: held-out perplexity {results['pretrain']['perplexity']:,.0f} → ")
    assert "worse" in f.headline() and "replay" in f.lever()
    # vs the base model SFT is still better here (exp(8 x 1.15) is higher): both comparisons are made
    vs_base = [c for c in comps if c.model == "sft" and c.baseline == "init"]
    assert vs_base and not vs_base[0].worse


def test_noise_is_not_flagged() -> None:
    results, items = _results_and_items(sft_scale=5.0, seed=1)  # same distribution as pre-training
    assert not [c for c in flagged(compare(results, items, n_boot=300)) if c.model == "sft"]


def test_without_items_no_interval_no_flag() -> None:
    results = {"sft": {"pref_accuracy": 0.8}, "preference": {"pref_accuracy": 0.5}}
    comps = compare(results, {})
    assert len(comps) == 1 and comps[0].ci is None and comps[0].worse and not comps[0].flagged
    assert comps[0].verdict() == "worse (no interval)"


def test_paired_bootstrap_accuracy_interval(tmp_path) -> None:
    """Classification items from the predictions file; an identical model gives the interval [0, 0]."""
    for model, correct in (("pretrain", 0.2), ("sft", 0.9)):
        d = tmp_path / "classification" / model
        d.mkdir(parents=True)
        rng = random.Random(model)
        rows = [{"id": f"q{i}", "gold": "A", "loglik": "A" if rng.random() < correct else "B", "generate": None}
                for i in range(80)]
        (d / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    a, b = load_items(tmp_path, "pretrain", ["A", "B"]), load_items(tmp_path, "sft", ["A", "B"])
    lo, hi, n = paired_bootstrap(a["cls_loglik_accuracy"], b["cls_loglik_accuracy"], n_boot=300)
    assert n == 80 and 0.5 < lo < hi < 0.9
    assert paired_bootstrap(a["cls_loglik_accuracy"], a["cls_loglik_accuracy"], n_boot=50)[:2] == (0.0, 0.0)
    assert "cls_loglik_macro_f1" in a and "cls_generate_accuracy" in a


def test_write_regressions_from_item_files(engine, tmp_path) -> None:
    """The eval stage's files end to end: two 'models' whose held-out documents differ in difficulty."""
    easy, hard = TEXTS, [t * 3 + "？" for t in TEXTS]
    results = {}
    for model, texts in (("pretrain", easy), ("sft", hard)):
        results[model] = perplexity_with_items(engine, texts, 16, tmp_path / "items" / model)
    results["pretrain"]["perplexity"] = 10.0  # the table shows results.json's values; intervals come from items
    path = write_regressions(tmp_path, results, n_boot=200)
    rows = json.loads(path.read_text(encoding="utf-8"))["comparisons"]
    ppl = [r for r in rows if r["metric"] == "perplexity"]
    assert len(ppl) == 1 and ppl[0]["model"] == "sft" and ppl[0]["baseline"] == "pretrain"
    assert ppl[0]["items"] == len(TEXTS) and ppl[0]["ci95"] is not None and ppl[0]["text"]["before"] == "10"


def test_cblue_and_exam_items_from_predictions_files(tmp_path) -> None:
    """Per-item CBLUE (accuracy, macro-F1, set micro-F1) and exam values, used only where they reproduce the
    score in results.json."""
    rng = random.Random(0)
    n = 50
    golds = [rng.choice("012") for _ in range(n)]
    ents = [[[i, i + 2, "dis"]] for i in range(n)]
    results = {}
    for model, p_ok in (("pretrain", 0.3), ("sft", 0.95)):
        cls = [g if rng.random() < p_ok else None for g in golds]
        ner = [e if rng.random() < p_ok else [] for e in ents]
        exam = [("A" if rng.random() < p_ok else "B") for _ in range(n)]
        d = tmp_path / "cblue" / model / "predictions"
        d.mkdir(parents=True)
        (d / "KUAKE-QIC.jsonl").write_text("".join(json.dumps({"i": i, "id": f"q{i}", "gold": g, "parsed": p}) + "\n"
                                                   for i, (g, p) in enumerate(zip(golds, cls, strict=True))))
        (d / "CHIP-STS.jsonl").write_text((d / "KUAKE-QIC.jsonl").read_text())
        (d / "CMeEE-V2.jsonl").write_text("".join(json.dumps({"i": i, "gold": g, "parsed": p}) + "\n"
                                                  for i, (g, p) in enumerate(zip(ents, ner, strict=True))))
        e = tmp_path / "exams" / model / "predictions"
        e.mkdir(parents=True)
        (e / "cmmlu-medical.jsonl").write_text("".join(json.dumps({"id": i, "gold": "A", "loglik": x}) + "\n"
                                                       for i, x in enumerate(exam)))
        acc = sum(g == p for g, p in zip(golds, cls, strict=True)) / n
        tp = sum(bool(x) for x in ner)
        from medgo.eval.metrics import macro_prf

        results[model] = {"cblue": {"KUAKE-QIC": {"metric": "accuracy", "generate": acc},
                                    "CHIP-STS": {"metric": "macro_f1", "generate": macro_prf(golds, cls)["f1"]},
                                    "CMeEE-V2": {"metric": "f1", "generate": 2 * tp / (2 * tp + 0 + (n - tp))},
                                    "CHIP-CTC": {"metric": "accuracy", "generate": 0.123}},  # no file: no items
                          "exams": {"cmmlu-medical": {"loglik": exam.count("A") / n}}}
    results["sft"]["exams"]["cmmlu-medical"]["loglik"] += 0.01  # does not match its items: dropped
    items = load_items(tmp_path, "sft", None, results["sft"])
    assert set(items) == {"cblue:KUAKE-QIC:generate", "cblue:CHIP-STS:generate", "cblue:CMeEE-V2:generate"}
    assert "exams:cmmlu-medical:loglik" in load_items(tmp_path, "pretrain", None, results["pretrain"])
    comps = {(c.metric, c.baseline): c for c in compare(results, {m: load_items(tmp_path, m, None, results[m])
                                                                  for m in results}, n_boot=200)}
    assert comps[("cblue:KUAKE-QIC:generate", "pretrain")].ci[0] > 0  # SFT clearly better: not flagged
    assert comps[("cblue:CHIP-CTC:generate", "pretrain")].ci is None
    assert comps[("exams:cmmlu-medical:loglik", "pretrain")].ci is None
    assert comps[("cblue:CMeEE-V2:generate", "pretrain")].label == "CBLUE CMeEE-V2 f1 (generate)"


def test_vectorised_resampling_equals_the_point_metrics() -> None:
    """Every aggregate's fast path gives what the aggregate itself gives, on the same resamples."""
    import numpy as np

    from medgo.eval import regressions as r

    rng = random.Random(3)
    n = 40
    pairs = [(rng.choice("abc"), rng.choice(["a", "b", "z", None])) for _ in range(n)]
    cases = [
        Items({str(i): float(rng.random() < 0.5) for i in range(n)}, r._mean),
        Items({str(i): (rng.random() * 20, rng.randint(1, 9), rng.randint(1, 30)) for i in range(n)}, r._ppl),
        Items({str(i): (rng.random() * 20, rng.randint(1, 9), rng.randint(1, 30)) for i in range(n)}, r._bpc),
        Items({str(i): (rng.randint(0, 2), rng.randint(0, 2), rng.randint(0, 2)) for i in range(n)}, r._micro_f1),
        Items({str(i): p for i, p in enumerate(pairs)}, r._macro_f1_union),
        Items({str(i): p for i, p in enumerate(pairs)}, r._macro_f1_over(["a", "b", "c"])),
    ]
    idx = np.vstack([np.arange(n), np.random.default_rng(0).integers(0, n, size=(5, n))])
    for it in cases:
        vals = list(it.values.values())
        fast = r._resampled(it, vals, idx)
        slow = [it.agg([vals[i] for i in row]) for row in idx]
        assert fast == pytest.approx(slow, rel=1e-9, abs=1e-12), it.agg
