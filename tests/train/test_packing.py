"""Packing: EOS between documents, and with document packing no attention across documents."""

from __future__ import annotations

import pytest
import torch

from medgo.config.schema import ModelConfig, TinyModelConfig
from medgo.model.factory import build_tiny_qwen2
from medgo.model.packing import document_positions, pack_documents
from medgo.model.tokenizer import ENDOFTEXT, train_bpe_tokenizer


def test_pack_documents_joins_with_eos_and_cuts_blocks() -> None:
    tok = train_bpe_tokenizer(["高血压患者应低盐饮食。", "糖尿病需监测血糖。"] * 20, vocab_size=300)
    eot = tok.convert_tokens_to_ids(ENDOFTEXT)
    docs = ["高血压患者应低盐饮食。", "糖尿病需监测血糖。", "头痛。"]
    blocks, n = pack_documents(docs, tok, block_size=8)
    stream = []
    for d in docs:
        stream += tok.encode(d, add_special_tokens=False) + [eot]
    assert n == len(stream) and blocks == [stream[i : i + 8] for i in range(0, len(stream) - 7, 8)]
    assert all(len(b) == 8 for b in blocks)
    assert document_positions([5, 6, eot, 7, 8, eot, 9], eot) == [0, 1, 2, 0, 1, 2, 0]


def test_document_packing_blocks_cross_document_attention() -> None:
    tok = train_bpe_tokenizer(["高血压患者应低盐饮食。", "糖尿病需监测血糖。"] * 20, vocab_size=300)
    eot = tok.convert_tokens_to_ids(ENDOFTEXT)
    mc = ModelConfig(tiny=TinyModelConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                          num_attention_heads=4, num_key_value_heads=2))
    model = build_tiny_qwen2(mc, tok, seed=0).eval()
    a = tok.encode("高血压患者应低盐饮食。", add_special_tokens=False) + [eot]
    b = tok.encode("糖尿病需监测血糖。", add_special_tokens=False)
    packed = torch.tensor([a + b])
    pos = torch.tensor([document_positions(a + b, eot)])
    with torch.no_grad():
        alone = model(input_ids=torch.tensor([b]), use_cache=False).logits[0]
        doc = model(input_ids=packed, position_ids=pos, use_cache=False).logits[0, len(a):]
        concat = model(input_ids=packed, use_cache=False).logits[0, len(a):]
    assert torch.allclose(doc, alone, atol=1e-5)  # the second document sees nothing of the first
    assert not torch.allclose(concat, alone, atol=1e-3)  # plain concatenation does


def test_streaming_pretrain_trains_to_max_steps(tmp_path) -> None:
    from medgo.config import load_config
    from medgo.errors import ConfigError
    from medgo.pipeline.runner import run_pipeline
    from medgo_testkit import write_mini_project

    cfg_path = write_mini_project(tmp_path / "p", pretrain_steps=5)
    rd, _ = run_pipeline(load_config(cfg_path, ["pretrain.streaming=true", "pretrain.shuffle_buffer=8"]),
                         stages=["data", "tokenizer", "pretrain"])
    m = rd.manifest("pretrain")
    assert m["metrics"]["steps"] == 5 and m["counts"]["streaming"] is True
    assert m["metrics"]["last_loss"] < m["metrics"]["first_loss"] + 1.0
    with pytest.raises(ConfigError, match="max_steps"):
        run_pipeline(load_config(cfg_path, ["pretrain.streaming=true", "pretrain.max_steps=-1",
                                            f"output_dir={tmp_path / 'b'}"]), stages=["data", "tokenizer", "pretrain"])


def test_iter_blocks_matches_pack_documents() -> None:
    from medgo.model.packing import iter_blocks

    tok = train_bpe_tokenizer(["高血压患者应低盐饮食。", "糖尿病需监测血糖。"] * 20, vocab_size=300)
    docs = ["高血压患者应低盐饮食。", "糖尿病需监测血糖。", "头痛。"] * 3
    blocks, _ = pack_documents(docs, tok, block_size=7)
    assert list(iter_blocks(iter(docs), tok, 7)) == blocks
