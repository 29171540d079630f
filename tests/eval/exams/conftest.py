"""Fixtures: a tiny random Qwen2 folder; the shared data folder (skip without it)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
TEXTS = ["患者胸痛，诊断为急性心肌梗死，建议PCI。", "高血压首选ACEI或ARB，限盐。", "答案：B。肺炎需抗生素治疗。"] * 20

# reply(user_prompt, n_call) -> (status, content, delay_s)
Reply = Callable[[str, int], tuple[int, str, float]]


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from medgo.config.schema import ModelConfig, TinyModelConfig
    from medgo.model.factory import build_tiny_qwen2
    from medgo.model.tokenizer import train_bpe_tokenizer

    tok = train_bpe_tokenizer(TEXTS, vocab_size=300)
    mc = ModelConfig(tiny=TinyModelConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                          num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=2048))
    d = tmp_path_factory.mktemp("tiny")
    build_tiny_qwen2(mc, tok, seed=0).save_pretrained(d)
    tok.save_pretrained(d)
    return d


@pytest.fixture(scope="session")
def shared_data() -> Path:
    root = Path(os.environ.get("MEDGO_DATA") or REPO.parent / "shared" / "data")
    if not (root / "corpora").is_dir():
        pytest.skip("shared data not found (set MEDGO_DATA)")
    return root
