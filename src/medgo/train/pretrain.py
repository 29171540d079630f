"""The `pretrain` stage: continued pre-training (or from-scratch training of the tiny model) on packed blocks."""

from __future__ import annotations

from typing import Any

from datasets import Dataset
from transformers import Trainer, TrainingArguments, default_data_collator

from medgo.config.schema import RunConfig
from medgo.data.jsonl import read_jsonl
from medgo.data.stage import OUT_FILES
from medgo.errors import DataError
from medgo.model.tokenizer import ENDOFTEXT
from medgo.pipeline.stage import StageContext, StageResult
from medgo.train.common import (
    disabled,
    finish,
    make_args,
    maybe_lora,
    resume_checkpoint,
    stage_tokenizer,
    starting_model,
)
from medgo.train.metrics import TelemetryCallback
from medgo.train.packing import document_positions, pack_documents

NAME = "pretrain"


def config_for_hash(cfg: RunConfig) -> Any:
    return {"pretrain": cfg.pretrain.model_dump(mode="json"), "model": cfg.model.model_dump(mode="json")}


def run(cfg: RunConfig, ctx: StageContext) -> StageResult:
    p = cfg.pretrain
    if not p.enabled:
        return disabled(NAME)
    tok = stage_tokenizer(ctx)
    path = ctx.run.stage("data") / OUT_FILES["corpus_train"]
    texts = [r["text"] for r in read_jsonl(path)]
    blocks, n_tokens = pack_documents(texts, tok, p.block_size)
    if not blocks:
        raise DataError(
            f"{path}: {n_tokens} tokens is less than one block of pretrain.block_size={p.block_size}",
            hint="add text or lower pretrain.block_size",
        )
    columns = {"input_ids": blocks, "labels": [list(b) for b in blocks]}
    if p.packing == "document":
        eot = tok.convert_tokens_to_ids(ENDOFTEXT)
        columns["position_ids"] = [document_positions(b, eot) for b in blocks]
    ds = Dataset.from_dict(columns)
    model, started_from = starting_model(cfg, ctx, tok)
    model = maybe_lora(cfg, model)
    args = make_args(TrainingArguments, p, ctx.out, cfg.seed)
    tp = TelemetryCallback(ctx.out, p.block_size)
    trainer = Trainer(
        model=model, args=args, train_dataset=ds, data_collator=default_data_collator, callbacks=[tp]
    )
    resumed = resume_checkpoint(ctx)
    trainer.train(resume_from_checkpoint=resumed)
    counts = {"documents": len(texts), "tokens": n_tokens, "blocks": len(blocks), "block_size": p.block_size,
              "packing": p.packing}
    return finish(trainer, tok, ctx, tp, started_from, counts, resumed)
