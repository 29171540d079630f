"""SFT trains on assistant tokens only: prompt, system and user tokens get label -100."""

from __future__ import annotations

from pathlib import Path

from medgo.config.schema import ModelConfig, RunConfig, TinyModelConfig
from medgo.model.factory import build_tiny_qwen2
from medgo.model.tokenizer import train_bpe_tokenizer
from medgo.train.sft import build_trainer


def test_prompt_tokens_get_minus_100(tmp_path: Path) -> None:
    tok = train_bpe_tokenizer(["头痛可以吃布洛芬。高血压要低盐饮食。"] * 30, vocab_size=350)
    mc = ModelConfig(tiny=TinyModelConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                          num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=256))
    cfg = RunConfig(name="t", model=mc)
    cfg.sft.max_steps = 1
    model = build_tiny_qwen2(mc, tok, seed=0)
    rows = [{"messages": [
        {"role": "system", "content": "你是医生。"},
        {"role": "user", "content": "头痛怎么办？"},
        {"role": "assistant", "content": "可以吃布洛芬。"},
        {"role": "user", "content": "高血压呢？"},
        {"role": "assistant", "content": "低盐饮食。"},
    ]}]
    trainer = build_trainer(cfg, model, tok, rows, tmp_path)
    ex = trainer.train_dataset[0]
    ids, labels = ex["input_ids"], ex["labels"]
    assert len(ids) == len(labels)
    trained = [i for i, lab in zip(ids, labels, strict=True) if lab != -100]
    assert all(lab in (-100, i) for i, lab in zip(ids, labels, strict=True))
    # Exactly the two assistant answers (with their end-of-turn tokens) are trained on.
    assert tok.decode(trained) == "可以吃布洛芬。<|im_end|>低盐饮食。<|im_end|>"
    n_prompt = sum(lab == -100 for lab in labels)
    assert n_prompt > len(tok.encode("你是医生。头痛怎么办？高血压呢？", add_special_tokens=False))
