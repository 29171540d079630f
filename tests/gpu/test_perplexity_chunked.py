"""Eval perplexity in chunks: the same numbers as the whole-batch computation, on both paths (LM head applied
to chunks of hidden states; a model scored whole), at chunk sizes that split rows and batches."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from medgo.config.schema import ModelConfig, TinyModelConfig
from medgo.inference.hf import HFEngine
from medgo.model.factory import build_tiny_qwen2
from medgo.model.packing import pack_documents
from medgo.model.tokenizer import train_bpe_tokenizer

TEXTS = ["高血压患者应低盐饮食，定期测血压。", "糖尿病需监测血糖。", "头痛怎么办？多休息。"] * 7


def _whole(engine: HFEngine, block: int) -> float:
    """The previous implementation: fp32 logits of the whole batch, one cross-entropy."""
    blocks, _ = pack_documents(TEXTS, engine.tok, block, keep_remainder=True)
    nll = 0.0
    for i in range(0, len(blocks), engine.batch_size):
        batch = blocks[i : i + engine.batch_size]
        w = max(map(len, batch))
        ids = torch.tensor([b + [engine.tok.pad_token_id] * (w - len(b)) for b in batch])
        attn = torch.tensor([[1] * len(b) + [0] * (w - len(b)) for b in batch])
        labels = ids.masked_fill(attn == 0, -100)
        with torch.no_grad():
            logits = engine.model(input_ids=ids, attention_mask=attn).logits.float()
        nll += F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)), labels[:, 1:].reshape(-1),
                               ignore_index=-100, reduction="sum").item()
    return nll


@pytest.mark.parametrize("chunk", [5, 64, 4096])  # positions per chunk (vocab 300)
@pytest.mark.parametrize("plain_head", [True, False])
def test_chunked_perplexity_equals_whole_batch(chunk: int, plain_head: bool, monkeypatch) -> None:
    tok = train_bpe_tokenizer(TEXTS * 5, vocab_size=300)
    mc = ModelConfig(tiny=TinyModelConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                          num_attention_heads=4, num_key_value_heads=2))
    engine = HFEngine(build_tiny_qwen2(mc, tok, seed=0), tok, batch_size=3, device="cpu")
    monkeypatch.setattr(engine, "PPL_CHUNK_ELEMENTS", chunk * 300)
    if not plain_head:
        monkeypatch.setattr(engine, "_heads", lambda: None)
    got = engine.perplexity(TEXTS, block_size=16)
    nll = _whole(engine, 16)
    assert math.isclose(got["nll_per_token"] * got["tokens"], nll, rel_tol=1e-5)
    assert math.isclose(got["perplexity"], math.exp(nll / got["tokens"]), rel_tol=1e-5)
