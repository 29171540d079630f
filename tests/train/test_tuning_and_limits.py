"""Tuning types, QLoRA on CPU, SFT length limits and training telemetry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medgo.config.schema import ModelConfig, RunConfig, TinyModelConfig
from medgo.errors import MedgoError
from medgo.model.factory import build_tiny_qwen2
from medgo.model.lora import find_linear_targets, freeze_layers
from medgo.model.tokenizer import train_bpe_tokenizer
from medgo.train.common import check_tuning_type, maybe_lora
from medgo.train.sft import check_lengths

TINY = TinyModelConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=3, num_attention_heads=2,
                       num_key_value_heads=1, max_position_embeddings=256)


@pytest.fixture(scope="module")
def tok():
    return train_bpe_tokenizer(["头痛可以吃布洛芬。高血压要低盐饮食。"] * 30, vocab_size=330)


def test_lora_targets_every_linear_but_the_head(tok) -> None:
    model = build_tiny_qwen2(ModelConfig(tiny=TINY), tok, seed=0)
    assert find_linear_targets(model) == ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]
    cfg = RunConfig(name="t", model=ModelConfig(tiny=TINY, finetuning="lora"))
    peft_model = maybe_lora(cfg, model)
    trainable = {n for n, p in peft_model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)


def test_freeze_trains_only_last_layers(tok) -> None:
    model = build_tiny_qwen2(ModelConfig(tiny=TINY), tok, seed=0)
    n_train, n_total = freeze_layers(model, 1, ["norm"])
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    assert names and all(n.startswith("model.layers.2.") or n == "model.norm.weight" for n in names)
    assert "model.norm.weight" in names and 0 < n_train < n_total
    with pytest.raises(MedgoError, match="freeze_trainable_layers=9"):
        freeze_layers(model, 9, [])


def test_qlora_on_cpu_is_a_clear_error() -> None:
    with pytest.raises(MedgoError, match="needs a CUDA GPU"):
        check_tuning_type(RunConfig(name="t", model=ModelConfig(finetuning="qlora")))


def test_sft_rows_that_would_lose_their_answer_are_rejected(tok, tmp_path: Path) -> None:
    long_q = "头痛" * 200
    rows = [
        {"messages": [{"role": "user", "content": "头痛？"}, {"role": "assistant", "content": "布洛芬。"}]},
        {"messages": [{"role": "user", "content": long_q}, {"role": "assistant", "content": "布洛芬。"}]},
        {"messages": [{"role": "user", "content": "头痛？"}, {"role": "assistant", "content": "布洛芬。" * 100}]},
    ]
    kept, rejects, truncated = check_lengths(rows, tok, 128, tmp_path / "sft.jsonl")
    assert len(kept) == 2 and truncated == 1
    assert len(rejects) == 1 and rejects[0].line == 2 and "too long" in rejects[0].reason


def test_manifest_has_throughput_and_memory(mini_run) -> None:
    _, root = mini_run
    m = json.loads((root / "pretrain" / "manifest.json").read_text())["metrics"]
    assert m["tokens_per_s"] > 0 and m["achieved_tflops"] > 0 and m["peak_rss_mb"] > 0
    lines = [json.loads(x) for x in (root / "pretrain" / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines if "loss" in x] == list(range(1, m["steps"] + 1))
