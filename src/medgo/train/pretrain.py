"""The `pretrain` stage: continued pre-training (or from-scratch training of the tiny model) on packed blocks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datasets import Dataset, IterableDataset
from transformers import Trainer, TrainingArguments

from medgo.config.schema import RunConfig
from medgo.data.jsonl import read_jsonl
from medgo.data.stage import OUT_FILES
from medgo.errors import ConfigError, DataError
from medgo.model.packing import (
    document_positions,
    end_of_text_id,
    iter_blocks,
    model_attn_implementation,
    pack_documents,
    pretrain_collator,
)
from medgo.stage import StageContext, StageResult
from medgo.train.common import (
    disabled,
    make_args,
    stage_tokenizer,
    train_stage,
)

NAME = "pretrain"


def config_for_hash(cfg: RunConfig) -> Any:
    return {"pretrain": cfg.pretrain.model_dump(mode="json"), "model": cfg.model.model_dump(mode="json")}


def _row(block: list[int], eot: int, document: bool) -> dict[str, list[int]]:
    row = {"input_ids": block, "labels": list(block)}
    if document:
        row["position_ids"] = document_positions(block, eot)
    return row


def packed_dataset(cfg: RunConfig, path: Path, tok) -> tuple[Dataset, dict[str, Any]]:
    p = cfg.pretrain
    texts = [r["text"] for r in read_jsonl(path)]
    blocks, n_tokens = pack_documents(texts, tok, p.block_size)
    if not blocks:
        raise DataError(
            f"{path}: {n_tokens} tokens is less than one block of pretrain.block_size={p.block_size}",
            hint="add text or lower pretrain.block_size",
        )
    eot = end_of_text_id(tok)
    rows = [_row(b, eot, p.packing == "document") for b in blocks]
    counts = {"documents": len(texts), "tokens": n_tokens, "blocks": len(blocks), "block_size": p.block_size,
              "packing": p.packing, "streaming": False}
    return Dataset.from_list(rows), counts


def streaming_dataset(cfg: RunConfig, path: Path, tok) -> tuple[IterableDataset, dict[str, Any]]:
    """Blocks packed on the fly from the JSONL file, repeated until max_steps, shuffled in a seeded buffer.
    Deterministic, so a resumed run skips to exactly the batches it had not seen."""
    p = cfg.pretrain
    if p.max_steps <= 0:
        raise ConfigError("pretrain.streaming=true needs pretrain.max_steps > 0 (a stream has no length)")
    eot = end_of_text_id(tok)
    document = p.packing == "document"

    def gen():
        while True:  # epochs: the Trainer stops at max_steps
            texts = (r["text"] for r in read_jsonl(path))
            for block in iter_blocks(texts, tok, p.block_size):
                yield _row(block, eot, document)

    first = next(iter_blocks((r["text"] for r in read_jsonl(path)), tok, p.block_size), None)
    if first is None:
        raise DataError(f"{path}: less than one block of pretrain.block_size={p.block_size}")
    ds = IterableDataset.from_generator(gen).shuffle(seed=cfg.seed, buffer_size=p.shuffle_buffer)
    return ds, {"block_size": p.block_size, "packing": p.packing, "streaming": True}


def run(cfg: RunConfig, ctx: StageContext) -> StageResult:
    p = cfg.pretrain
    if not p.enabled:
        return disabled(NAME)
    tok = stage_tokenizer(ctx)
    path = ctx.run.stage("data") / OUT_FILES["corpus_train"]
    if p.streaming:
        ds, counts = streaming_dataset(cfg, path, tok)
    else:
        ds, counts = packed_dataset(cfg, path, tok)
    args = make_args(TrainingArguments, p, ctx.out, cfg.seed)
    result, _ = train_stage(
        cfg, ctx, tok, p.block_size,
        lambda model, cbs: Trainer(
            model=model, args=args, train_dataset=ds, callbacks=cbs,
            data_collator=pretrain_collator(model_attn_implementation(model), p.packing == "document",
                                            streaming=p.streaming),
        ),
        counts,
    )
    return result
