"""SFT packing keeps conversation boundaries: positions restart, prompts stay masked, and the packed loss
equals the loss of the same conversations run one by one."""

from __future__ import annotations

from pathlib import Path

import torch

from medgo.config.schema import ModelConfig, RunConfig, TinyModelConfig
from medgo.model.factory import build_tiny_qwen2
from medgo.model.tokenizer import train_bpe_tokenizer
from medgo.train.sft import build_trainer

ROWS = [
    {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
    for q, a in [("头痛怎么办？", "可以吃布洛芬。"), ("高血压吃什么药？", "氨氯地平。"), ("咳嗽？", "多喝水，必要时就医。")]
]


def test_packed_batch_matches_unpacked_loss(tmp_path: Path) -> None:
    tok = train_bpe_tokenizer([m["content"] for r in ROWS for m in r["messages"]] * 20, vocab_size=320)
    mc = ModelConfig(tiny=TinyModelConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                          num_attention_heads=4, num_key_value_heads=2))
    cfg = RunConfig(name="t", model=mc)
    cfg.sft.packing = True
    cfg.sft.max_length = 256
    cfg.sft.per_device_batch_size = 1
    model = build_tiny_qwen2(mc, tok, seed=0).eval()
    trainer = build_trainer(cfg, model, tok, ROWS, tmp_path)
    assert len(trainer.train_dataset) == 1  # all three conversations fit in one packed row
    batch = trainer.data_collator([trainer.train_dataset[0]])
    pos = batch["position_ids"][0].tolist()
    starts = [i for i, p in enumerate(pos) if p == 0]
    assert len(starts) == 3 and "attention_mask" not in batch
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits
    # Per-token log-probs of each conversation equal those from running it alone.
    ends = starts[1:] + [len(pos)]
    for s, e in zip(starts, ends, strict=True):
        ids = batch["input_ids"][:, s:e]
        with torch.no_grad():
            alone = model(input_ids=ids, use_cache=False).logits
        assert torch.allclose(packed[:, s:e], alone, atol=1e-5)
    labels = batch["labels"][0]
    trained = tok.decode([t for t, lab in zip(batch["input_ids"][0].tolist(), labels.tolist(), strict=True)
                          if lab != -100])
    assert sorted(trained.split("<|im_end|>"))[1:] == sorted(r["messages"][1]["content"] for r in ROWS)


def test_unpacked_batches_share_rows_without_changing_the_loss(tmp_path: Path) -> None:
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    from medgo.train.sft import RepackedBatchCollator, balanced_rows

    assert balanced_rows([300, 200, 100, 100], 512) == [[0, 3], [1, 2]]  # 400 + 300: 2 rows of width 400
    assert balanced_rows([500, 20], 512) == [[0], [1]]  # too long to share a row
    assert sorted(i for b in balanced_rows([5, 9, 3, 7, 1], 12) for i in b) == [0, 1, 2, 3, 4]

    tok = train_bpe_tokenizer([m["content"] for r in ROWS for m in r["messages"]] * 20, vocab_size=320)
    mc = ModelConfig(tiny=TinyModelConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                          num_attention_heads=4, num_key_value_heads=2))
    cfg = RunConfig(name="t", model=mc)
    cfg.sft.max_length = 256
    cfg.sft.assistant_only_loss = False  # every token a target: segment starts must not leak across rows
    model = build_tiny_qwen2(mc, tok, seed=0).eval()
    trainer = build_trainer(cfg, model, tok, ROWS, tmp_path)
    assert isinstance(trainer.data_collator, RepackedBatchCollator)  # the CPU default for unpacked SFT
    examples = [trainer.train_dataset[i] for i in range(3)]
    padded = DataCollatorForLanguageModeling(pad_token_id=tok.pad_token_id)(examples)
    rows = trainer.data_collator(examples)
    assert rows["input_ids"].shape[0] == 1 and rows["input_ids"].numel() < padded["input_ids"].numel()
    n = int((padded["labels"][:, 1:] != -100).sum())
    assert int((rows["labels"][:, 1:] != -100).sum()) == n
    with torch.no_grad():
        want = model(**padded, num_items_in_batch=n, use_cache=False).loss
        got = model(**rows, num_items_in_batch=n, use_cache=False).loss
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
