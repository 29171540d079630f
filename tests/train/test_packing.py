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


# -- the flattened layout for flash / flex attention -----------------------------------------------------------
# transformers' real flash-attention path (integrations/flash_attention.py -> _flash_attention_forward: the
# varlen decision, cu_seqlens from position ids or from the collator) runs here on CPU with a reference kernel
# in place of flash_attn's CUDA one: per-segment causal attention for the varlen entry point, whole-row causal
# attention for the dense one. Only the kernel differs from a GPU run.

def _ref_attention(q, k, v, causal, scale):
    rep = q.shape[1] // k.shape[1]  # [tokens, heads, dim]; grouped-query heads repeated
    k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
    o = torch.nn.functional.scaled_dot_product_attention(
        q.transpose(0, 1)[None], k.transpose(0, 1)[None], v.transpose(0, 1)[None], is_causal=causal, scale=scale)
    return o[0].transpose(0, 1)


def _ref_flash(q, k, v, dropout_p=0.0, softmax_scale=None, causal=False, window_size=(-1, -1), softcap=0.0,
               alibi_slopes=None, deterministic=False, return_attn_probs=False):
    return torch.stack([_ref_attention(q[b], k[b], v[b], causal, softmax_scale) for b in range(q.shape[0])])


def _ref_flash_varlen(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, dropout_p=0.0,
                      softmax_scale=None, causal=False, window_size=(-1, -1), softcap=0.0, alibi_slopes=None,
                      deterministic=False, return_attn_probs=False, block_table=None):
    cu = cu_seqlens_q.tolist()
    return torch.cat([_ref_attention(q[a:b], k[a:b], v[a:b], causal, softmax_scale) for a, b in zip(cu, cu[1:], strict=False)])


@pytest.fixture
def flash_on_cpu(monkeypatch):
    """Models whose config says flash_attention_2 run transformers' flash path with the reference kernels."""
    import transformers.modeling_flash_attention_utils as fau

    for name, value in (("_flash_fn", _ref_flash), ("_flash_varlen_fn", _ref_flash_varlen),
                        ("_flash_with_kvcache_fn", None), ("_pad_fn", fau._pad_input), ("_unpad_fn", fau._unpad_input),
                        ("_process_flash_kwargs_fn", fau._lazy_define_process_function(_ref_flash_varlen)),
                        ("_process_with_kvcache_kwargs_fn", dict), ("_loaded_implementation", "flash_attention_2")):
        monkeypatch.setattr(fau, name, value)

    def as_flash(model):
        model.config._attn_implementation = "flash_attention_2"
        return model

    return as_flash


def _tiny(seed: int = 0):
    tok = train_bpe_tokenizer(["高血压患者应低盐饮食。", "糖尿病需监测血糖。", "头痛怎么办？"] * 20, vocab_size=300)
    mc = ModelConfig(tiny=TinyModelConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                          num_attention_heads=4, num_key_value_heads=2))
    return tok, build_tiny_qwen2(mc, tok, seed=seed)


DOCS = ["高血压患者应低盐饮食，定期测血压。", "糖尿病需监测血糖。", "头痛怎么办？", "低盐饮食。"]


def _sum_loss_and_grads(model, batches: list[dict]) -> tuple[float, dict[str, torch.Tensor]]:
    """Sum over target tokens of the token losses (and its gradients) over the batches."""
    model.zero_grad()
    total = 0.0
    for b in batches:
        b = dict(b)
        n = int((b["labels"][:, 1:] != -100).sum())
        loss = model(**b, use_cache=False).loss * n
        loss.backward()
        total += loss.item()
    return total, {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}


def _close(a: tuple, b: tuple, tol: float = 1e-4) -> bool:
    (la, ga), (lb, gb) = a, b
    return abs(la - lb) < tol * max(1.0, abs(lb)) and ga.keys() == gb.keys() and all(
        torch.allclose(ga[k], gb[k], atol=tol, rtol=1e-3) for k in ga)


def test_flattened_layout_loss_and_gradients_equal_each_document_alone(flash_on_cpu) -> None:
    from medgo.model.packing import FlattenedCollator

    tok, model = _tiny()
    docs = [tok.encode(t, add_special_tokens=False) for t in DOCS]
    alone = _sum_loss_and_grads(model, [{"input_ids": torch.tensor([d]), "labels": torch.tensor([d])} for d in docs])

    # sdpa, one flattened row (position ids restart): the block-diagonal mask
    flat = FlattenedCollator()([{"input_ids": d} for d in docs])
    assert flat["input_ids"].shape == (1, sum(map(len, docs))) and flat["cu_seq_lens_q"].tolist() == [
        0, *torch.tensor([len(d) for d in docs]).cumsum(0).tolist()]
    assert _close(_sum_loss_and_grads(model, [flat]), alone)

    flash_on_cpu(model)
    # flash attention, flattened: the varlen kernel isolates the documents, with or without explicit cu_seqlens
    assert _close(_sum_loss_and_grads(model, [flat]), alone)
    by_positions = {k: flat[k] for k in ("input_ids", "labels", "position_ids")}
    assert _close(_sum_loss_and_grads(model, [by_positions]), alone)

    # flash attention, the same documents as [2, L] rows with restarting positions (what the presets did):
    # transformers infers varlen only at batch size 1, so attention crosses documents -- silently
    pairs = [(docs[0], docs[1]), (docs[2], docs[3])]
    width = max(len(x) + len(y) for x, y in pairs)
    rows, labels, pos = [], [], []
    for x, y in pairs:  # a padding tail is a segment of its own, unlabelled
        tail = width - len(x) - len(y)
        rows.append(x + y + [0] * tail)
        labels.append(x + [-100] + y[1:] + [-100] * tail)
        pos.append([*range(len(x)), *range(len(y)), *range(tail)])
    as_rows = {"input_ids": torch.tensor(rows), "labels": torch.tensor(labels), "position_ids": torch.tensor(pos)}
    crossed, _ = _sum_loss_and_grads(model, [as_rows])
    model.config._attn_implementation = "sdpa"
    isolated, _ = _sum_loss_and_grads(model, [as_rows])  # the block-diagonal mask isolates the same rows
    assert abs(crossed - isolated) > 1e-3


def test_sdpa_rows_with_restarting_positions_equal_each_document_alone() -> None:
    tok, model = _tiny()
    eot = tok.convert_tokens_to_ids(ENDOFTEXT)
    docs = [tok.encode(t, add_special_tokens=False) + [eot] for t in DOCS]
    alone = _sum_loss_and_grads(model, [{"input_ids": torch.tensor([d]), "labels": torch.tensor([d])} for d in docs])
    a, b = docs[0] + docs[1], docs[2] + docs[3]
    width = max(len(a), len(b))
    rows, labels, pos = [], [], []
    for r, first in ((a, len(docs[0])), (b, len(docs[2]))):
        rows.append(r + [eot] * (width - len(r)))
        lab = r + [-100] * (width - len(r))
        lab[first] = -100  # a document's first token is no target of the previous document
        labels.append(lab)
        pos.append(document_positions(r, eot) + list(range(width - len(r))))
    batch = {"input_ids": torch.tensor(rows), "labels": torch.tensor(labels), "position_ids": torch.tensor(pos)}
    assert _close(_sum_loss_and_grads(model, [batch]), alone)


def test_pretrain_blocks_flattened_under_flash_equal_rows_under_sdpa(flash_on_cpu) -> None:
    from medgo.model.packing import FlattenedCollator, pretrain_collator

    tok, model = _tiny()
    eot = tok.convert_tokens_to_ids(ENDOFTEXT)
    blocks, _ = pack_documents(DOCS * 3, tok, block_size=16)
    rows = [{"input_ids": b, "labels": list(b), "position_ids": document_positions(b, eot)} for b in blocks[:4]]
    sdpa_rows = pretrain_collator("sdpa", document=True)(rows)
    assert sdpa_rows["input_ids"].shape == (4, 16)
    ref = _sum_loss_and_grads(model, [sdpa_rows])
    collate = pretrain_collator("flash_attention_2", document=True)
    assert isinstance(collate, FlattenedCollator)
    flat = collate(rows)
    assert flat["input_ids"].shape == (1, 64)
    flash_on_cpu(model)
    assert _close(_sum_loss_and_grads(model, [flat]), ref)


@pytest.mark.parametrize("impl,flattened", [
    ("flash_attention_2", True), ("flash_attention_3", True), ("flex_attention", True),
    ("kernels-community/flash-attn2", True), ("sdpa", False), ("eager", False), (None, False)])
def test_collator_is_flattened_whenever_attention_is_flash_or_flex(impl, flattened) -> None:
    from medgo.model.packing import FlattenedCollator, pretrain_collator, uses_varlen_attention

    assert uses_varlen_attention(impl) is flattened
    assert isinstance(pretrain_collator(impl, document=True), FlattenedCollator) is flattened
    assert not isinstance(pretrain_collator(impl, document=False), FlattenedCollator)  # concat: rows as they are


@pytest.mark.parametrize("packing", [True, False])
def test_sft_under_flash_trains_on_flattened_conversations(tmp_path, flash_on_cpu, packing) -> None:
    from medgo.config.schema import RunConfig
    from medgo.model.packing import FlattenedCollator
    from medgo.train.sft import build_trainer

    rows = [{"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
            for q, a in [("头痛怎么办？", "低盐饮食。"), ("高血压吃什么药？", "糖尿病需监测血糖。"), ("头痛？", "头痛怎么办")]]
    tok, model = _tiny()
    cfg = RunConfig(name="t", model=ModelConfig(tiny=TinyModelConfig(hidden_size=32, intermediate_size=64,
                                                                      num_hidden_layers=2, num_attention_heads=4,
                                                                      num_key_value_heads=2)))
    cfg.sft.packing, cfg.sft.max_length, cfg.sft.per_device_batch_size = packing, 256, 3
    cfg.sft.padding_free = None if packing else True
    one = cfg.model_copy(deep=True)
    one.sft.packing, one.sft.padding_free = False, False
    alone = [{"input_ids": torch.tensor([r["input_ids"]]), "labels": torch.tensor([r["labels"]])}
             for r in build_trainer(one, model, tok, rows, tmp_path / "a").train_dataset]
    assert len(alone) == 3
    ref = _sum_loss_and_grads(model, alone)
    trainer = build_trainer(cfg, flash_on_cpu(model), tok, rows, tmp_path / "b")
    assert isinstance(trainer.data_collator, FlattenedCollator)
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(len(trainer.train_dataset))])
    assert batch["input_ids"].shape[0] == 1 and len(batch["cu_seq_lens_q"]) == 4  # 3 conversations, 1 row
    assert _close(_sum_loss_and_grads(model, [batch]), ref)


def test_sft_fused_loss_trains_a_step_on_the_flattened_layout(tmp_path, flash_on_cpu) -> None:
    """The GPU default (TRL's own fused loss, flash attention): one optimizer step on flattened batches."""
    from medgo.config.schema import RunConfig
    from medgo.model.packing import FlattenedCollator
    from medgo.train.sft import build_trainer

    rows = [{"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
            for q, a in [("头痛怎么办？", "低盐饮食。"), ("高血压吃什么药？", "糖尿病需监测血糖。")] * 2]
    tok, model = _tiny()
    cfg = RunConfig(name="t")
    cfg.sft.packing, cfg.sft.max_length, cfg.sft.per_device_batch_size = False, 128, 4
    cfg.sft.padding_free, cfg.sft.fused_loss, cfg.sft.max_steps, cfg.sft.logging_steps = True, True, 1, 1
    trainer = build_trainer(cfg, flash_on_cpu(model), tok, rows, tmp_path)
    assert isinstance(trainer.data_collator, FlattenedCollator)
    trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert losses and all(torch.isfinite(torch.tensor(x)) for x in losses)


def test_streaming_flattened_batches_hold_only_row_tensors() -> None:
    """accelerate concatenates and splits a streaming dataset's batches along dim 0 when it dispatches them:
    the streaming collator leaves cu_seqlens to transformers (derived from the position ids at batch size 1)."""
    from medgo.model.packing import pretrain_collator

    rows = [{"input_ids": [5, 6, 7, 8], "labels": [5, 6, 7, 8], "position_ids": [0, 1, 0, 1]}] * 2
    batch = pretrain_collator("flash_attention_2", document=True, streaming=True)(rows)
    assert set(batch) == {"input_ids", "labels", "position_ids"} and all(v.shape == (1, 8) for v in batch.values())
    assert "cu_seq_lens_q" in pretrain_collator("flash_attention_2", document=True)(rows)


def test_flattened_layout_under_flex_attention_equals_each_document_alone() -> None:
    """Flex attention's block mask from the flattened batch's position ids: each document's logits equal those
    of the document alone (forward only: torch's FlexAttention has no backward on CPU)."""
    from medgo.model.packing import pretrain_collator

    tok, model = _tiny()
    docs = [tok.encode(t, add_special_tokens=False) for t in DOCS]
    flat = pretrain_collator("flex_attention", document=True, streaming=True)(
        [{"input_ids": d, "labels": d, "position_ids": list(range(len(d)))} for d in docs])
    model.set_attn_implementation("flex_attention")
    with torch.no_grad():
        got = model(**flat, use_cache=False).logits[0]
        model.set_attn_implementation("sdpa")
        alone = torch.cat([model(input_ids=torch.tensor([d]), use_cache=False).logits[0] for d in docs])
    assert torch.allclose(got, alone, atol=1e-5)
