"""Every preference algorithm trains a few steps on a tiny model through TRL and changes the weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from medgo.config.schema import ModelConfig, RunConfig, TinyModelConfig
from medgo.model.factory import build_tiny_qwen2
from medgo.model.tokenizer import train_bpe_tokenizer
from medgo.train.preference import build_trainer

ROWS = [
    {"messages": [{"role": "user", "content": f"{d}吃什么药？"}], "chosen": f"在医生指导下使用{m}。", "rejected": "随便吃。"}
    for d, m in [("高血压", "氨氯地平"), ("糖尿病", "二甲双胍"), ("胃炎", "奥美拉唑"), ("哮喘", "沙丁胺醇")]
]


@pytest.mark.parametrize("algorithm", ["dpo", "ipo", "simpo", "orpo", "kto"])
def test_algorithm_trains(algorithm: str, tmp_path: Path) -> None:
    tok = train_bpe_tokenizer([r["chosen"] + r["messages"][0]["content"] for r in ROWS] * 20, vocab_size=320)
    mc = ModelConfig(tiny=TinyModelConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                          num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=128))
    cfg = RunConfig(name="t", model=mc)
    cfg.preference.algorithm = algorithm
    cfg.preference.max_steps = 2
    cfg.preference.per_device_batch_size = 2
    cfg.preference.learning_rate = 1e-2
    cfg.preference.logging_steps = 1
    model = build_tiny_qwen2(mc, tok, seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainer = build_trainer(cfg, model, tok, ROWS, tmp_path)
    trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert losses and all(torch.isfinite(torch.tensor(x)) for x in losses)
    after = trainer.model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_dpo_with_lora_uses_no_second_model_copy(tmp_path: Path) -> None:
    from medgo.train.common import maybe_lora

    tok = train_bpe_tokenizer([r["chosen"] + r["messages"][0]["content"] for r in ROWS] * 20, vocab_size=320)
    mc = ModelConfig(tiny=TinyModelConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                          num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=128),
                     finetuning="lora")
    cfg = RunConfig(name="t", model=mc)
    cfg.preference.max_steps = 2
    cfg.preference.per_device_batch_size = 2
    model = maybe_lora(cfg, build_tiny_qwen2(mc, tok, seed=0))
    trainer = build_trainer(cfg, model, tok, ROWS, tmp_path)
    assert trainer.ref_model is None  # the reference is the base weights with the adapters switched off
    trainer.train()
    assert [h["loss"] for h in trainer.state.log_history if "loss" in h]


def test_lora_stage_saves_a_merged_plain_model(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    from medgo.train.common import maybe_lora, save_final

    tok = train_bpe_tokenizer(["头痛可以吃布洛芬。"] * 30, vocab_size=300)
    mc = ModelConfig(tiny=TinyModelConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                          num_attention_heads=2, num_key_value_heads=1), finetuning="lora")
    model = maybe_lora(RunConfig(name="t", model=mc), build_tiny_qwen2(mc, tok, seed=0))
    for n, p in model.named_parameters():  # make the adapters non-zero so merging changes the weights
        if "lora_B" in n:
            torch.nn.init.normal_(p, std=0.5)
    x = torch.tensor([tok.encode("头痛", add_special_tokens=False)])
    model.eval()  # LoRA dropout off
    with torch.no_grad():
        expected = model(input_ids=x).logits
    out = save_final(model, tok, tmp_path)
    assert not (out / "adapter_config.json").exists()
    reloaded = AutoModelForCausalLM.from_pretrained(str(out))
    with torch.no_grad():
        assert torch.allclose(reloaded(input_ids=x).logits, expected, atol=1e-4)
