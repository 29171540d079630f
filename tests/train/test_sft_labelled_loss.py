"""The SFT loss that runs the LM head only on labelled positions gives the model's own loss, gradients and
token accuracy, with and without the trainer's token count; wrapped models fall back to the full forward."""

from __future__ import annotations

import copy

import torch

from medgo.config.schema import ModelConfig, TinyModelConfig
from medgo.model.factory import build_tiny_qwen2
from medgo.model.tokenizer import train_bpe_tokenizer
from medgo.train.sft import labelled_only_loss, labelled_only_ok


def _model_and_batch():
    tok = train_bpe_tokenizer(["头痛怎么办？可以吃布洛芬。高血压吃什么药？氨氯地平。"] * 20, vocab_size=300)
    mc = ModelConfig(tiny=TinyModelConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                          num_attention_heads=4, num_key_value_heads=2))
    model = build_tiny_qwen2(mc, tok, seed=0)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(3, len(tok), (3, 24), generator=g)
    labels = ids.clone()
    labels[:, :10] = -100  # prompt
    labels[1, 18:] = -100  # padding tail
    labels[2, :] = -100  # a row with no answer token at all
    return model, {"input_ids": ids, "labels": labels, "attention_mask": torch.ones_like(ids)}


def test_labelled_only_loss_equals_full_forward() -> None:
    model, batch = _model_and_batch()
    other = copy.deepcopy(model)
    assert labelled_only_ok(model)
    for items in (None, torch.tensor(37)):
        model.zero_grad()
        other.zero_grad()
        loss, correct, n = labelled_only_loss(model, dict(batch), items)
        out = other(**batch, num_items_in_batch=items)
        torch.testing.assert_close(loss, out.loss, atol=1e-6, rtol=1e-5)
        loss.backward()
        out.loss.backward()
        for (name, p), q in zip(model.named_parameters(), other.parameters(), strict=True):
            torch.testing.assert_close(p.grad, q.grad, atol=1e-6, rtol=1e-4, msg=name)
        shifted = batch["labels"][:, 1:]
        keep = shifted != -100
        assert int(n) == int(keep.sum()) == 14 + 8  # row 0: positions 10-23; row 1: 10-17
        want = ((out.logits[:, :-1].argmax(-1) == shifted) & keep).sum()
        assert int(correct) == int(want)


def test_wrapped_models_are_not_taken_apart() -> None:
    model, _ = _model_and_batch()
    assert not labelled_only_ok(torch.nn.Sequential(model))
