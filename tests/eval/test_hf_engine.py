"""The HF engine's batching must not change results: left padding, batched log-likelihood, perplexity."""

from __future__ import annotations

import math

import pytest
import torch

from medgo.config.schema import ModelConfig, TinyModelConfig
from medgo.eval.classification import accuracy_and_macro_f1
from medgo.eval.tasks.parsers import parse_label
from medgo.inference.base import Engine, GenerationParams
from medgo.inference.hf import HFEngine
from medgo.model.factory import build_tiny_qwen2
from medgo.model.tokenizer import train_bpe_tokenizer

TEXTS = ["头痛可以吃布洛芬。", "高血压要低盐饮食，按时服用氨氯地平。", "糖尿病需要监测血糖。"] * 20


@pytest.fixture(scope="module")
def engine() -> HFEngine:
    tok = train_bpe_tokenizer(TEXTS, vocab_size=350)
    mc = ModelConfig(tiny=TinyModelConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256))
    return HFEngine(build_tiny_qwen2(mc, tok, seed=3), tok, batch_size=4)


def test_engine_satisfies_interface(engine: HFEngine) -> None:
    assert isinstance(engine, Engine)


def test_batched_generation_equals_one_by_one(engine: HFEngine) -> None:
    prompts = ["头痛", [{"role": "user", "content": "高血压吃什么药？"}], "糖尿病需要监测血糖和饮食"]
    params = GenerationParams(max_new_tokens=8)
    batched = engine.generate(prompts, params)
    single = [engine.generate([p], params)[0] for p in prompts]
    assert [c.text for c in batched] == [c.text for c in single]
    for c in batched:
        assert c.completion_tokens <= 8 and c.finish_reason in ("stop", "length") and c.prompt_tokens > 0


def test_loglikelihood_matches_direct_computation(engine: HFEngine) -> None:
    ctx, cont = "高血压要", "低盐饮食"
    (ll, _), = engine.loglikelihood([(ctx, cont)])
    c_ids, x_ids = engine.encode(ctx), engine.encode(cont)
    ids = torch.tensor([c_ids + x_ids])
    with torch.no_grad():
        logp = torch.log_softmax(engine.model(ids).logits[0].float(), -1)
    direct = sum(logp[len(c_ids) - 1 + j, t].item() for j, t in enumerate(x_ids))
    assert ll == pytest.approx(direct, abs=1e-4)
    # Batched with other lengths gives the same number.
    many = engine.loglikelihood([("头痛", "可以吃布洛芬"), (ctx, cont), ("糖", "尿病")])
    assert many[1][0] == pytest.approx(ll, abs=1e-4)


def test_perplexity_is_exp_of_mean_nll(engine: HFEngine) -> None:
    r = engine.perplexity(TEXTS[:3], block_size=16)
    assert r["perplexity"] == pytest.approx(math.exp(r["nll_per_token"]))
    assert r["tokens"] > 0 and r["bits_per_char"] > 0


def test_stream_concatenates_to_generate(engine: HFEngine) -> None:
    params = GenerationParams(max_new_tokens=6)
    prompt = [{"role": "user", "content": "头痛怎么办？"}]
    assert "".join(engine.stream(prompt, params)) == engine.generate([prompt], params)[0].text


def test_parse_label_prefers_first_and_longest() -> None:
    labels = {lab: lab for lab in ["病情诊断", "治疗方案", "病情"]}  # the classification check's label set
    assert parse_label("答案：治疗方案。不是病情诊断", labels) == "治疗方案"
    assert parse_label("病情诊断", labels) == "病情诊断"
    assert parse_label("不知道", labels) is None


def test_accuracy_and_macro_f1() -> None:
    m = accuracy_and_macro_f1(["a", "a", "b", "b"], ["a", "b", "b", None], ["a", "b"])
    assert m["accuracy"] == 0.5
    # a: p=1, r=.5 -> f1=2/3 ; b: p=.5, r=.5 -> .5
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.5) / 2)


def test_cblue_in_eval_stage_scores_every_task(engine: HFEngine, tmp_path) -> None:
    from medgo.config.schema import CblueEvalConfig
    from medgo.eval.suite import StageInputs
    from medgo.eval.suites import get_suite

    table = get_suite("cblue").for_stage(engine, CblueEvalConfig(tasks=["KUAKE-QIC", "CMeEE-V2"], limit=3),
                                         StageInputs(model="sft", out=tmp_path))
    assert set(table) == {"KUAKE-QIC", "CMeEE-V2"}
    qic = table["KUAKE-QIC"]
    assert qic["n"] == 3 and 0 <= qic["generate"] <= 1 and 0 <= qic["loglik"] <= 1
    assert table["CMeEE-V2"]["loglik"] is None  # NER has no label set to rank
    assert (tmp_path / "scores.md").is_file() and (tmp_path / "predictions" / "KUAKE-QIC.jsonl").is_file()


def test_clinicalqa_and_exams_in_eval_stage(engine: HFEngine, tmp_path) -> None:
    from medgo.config.schema import ClinicalQAEvalConfig, ExamsEvalConfig
    from medgo.eval.suite import StageInputs
    from medgo.eval.suites import get_suite

    cq = get_suite("clinicalqa").for_stage(engine, ClinicalQAEvalConfig(limit=3, max_new_tokens=8),
                                           StageInputs(model="sft", out=tmp_path / "cq"))
    assert cq["n"] == 3 and all(v is None or 0 <= v <= 1 for k, v in cq.items() if k != "n")
    ex = get_suite("exams").for_stage(engine, ExamsEvalConfig(tasks=["cmmlu-medical"], limit=4),
                                      StageInputs(model="sft", out=tmp_path / "ex"))
    assert ex["cmmlu-medical"]["n"] == 4 and 0 <= ex["cmmlu-medical"]["loglik"] <= 1


def test_clinicalqa_pairwise_with_self_judge(tmp_path) -> None:
    from medgo.config.schema import ClinicalQAEvalConfig, RunConfig
    from medgo.eval.stage import run_clinicalqa_pairwise
    from medgo.model.tokenizer import load_tokenizer
    from medgo_testkit import save_tiny_model

    d = save_tiny_model(tmp_path / "m", TEXTS)
    c = ClinicalQAEvalConfig(limit=2, max_new_tokens=8, pairwise_model="sft", pairwise_baseline="pretrain",
                             judge_attempts=1, judge_max_new_tokens=16)
    pw = run_clinicalqa_pairwise(RunConfig(name="t"), load_tokenizer(d), {"sft": d, "pretrain": d}, c, tmp_path / "o")
    assert pw["judge"] == "sft (the model judges itself)" and pw["baseline"] == "pretrain"
    assert pw["n"] + pw["unjudged"] == 2 and pw["judge_calls"] == 4  # 2 cases x both orders x 1 attempt
    assert (tmp_path / "o" / "scores.md").is_file()


def test_pairwise_pairs_each_stage_vs_previous() -> None:
    from medgo.config.schema import ClinicalQAEvalConfig
    from medgo.eval.stage import pairwise_pairs

    every = ["preference", "init", "sft", "pretrain"]  # any order in: pipeline order out
    assert pairwise_pairs(ClinicalQAEvalConfig(pairwise_vs_previous=True), every) == [
        ("pretrain", "init"), ("sft", "pretrain"), ("preference", "sft")]
    assert pairwise_pairs(ClinicalQAEvalConfig(pairwise_vs_previous=True), ["sft", "preference"]) == [
        ("preference", "sft")]
    one = ClinicalQAEvalConfig(pairwise_model="preference", pairwise_baseline="pretrain")
    assert pairwise_pairs(one, every) == [("preference", "pretrain")] and pairwise_pairs(one, ["sft"]) == []
    assert pairwise_pairs(ClinicalQAEvalConfig(), every) == []


def test_shared_prefix_cache_keeps_greedy_outputs(engine: HFEngine) -> None:
    """Prompts sharing a long instruction reuse one prefix KV cache; outputs equal the one-by-one loop, in the
    caller's order, with suffixes of different lengths in one batch (padding between prefix and suffix)."""
    head = "请判断下面的句子属于哪一类：高血压要低盐饮食，按时服用氨氯地平。糖尿病需要监测血糖。\n句子："
    prompts = [head + t for t in ["头痛", "高血压要低盐饮食，按时服用氨氯地平。", "糖尿病", "头痛可以吃布洛芬。", "血糖"]]
    ids = [engine.encode(engine.render(p)) for p in prompts]
    n, _cache = engine.prefix_cache(ids)
    assert n >= engine.MIN_SHARED_PREFIX and all(x[:n] == ids[0][:n] for x in ids)
    assert engine.prefix_cache(ids[:1]) is None and engine.prefix_cache([ids[0], ids[0][:5] + [1]]) is None
    params = GenerationParams(max_new_tokens=8)
    batched = engine.generate(prompts, params)
    single = [engine.generate([p], params)[0] for p in prompts]
    assert [c.text for c in batched] == [c.text for c in single]
    assert [c.prompt_tokens for c in batched] == [len(x) for x in ids]
