"""The `sft` stage: chat-format supervised fine-tuning through TRL's SFTTrainer, loss on assistant tokens only."""

from __future__ import annotations

from typing import Any

from datasets import Dataset
from transformers import PreTrainedModel, PreTrainedTokenizerBase
from trl import SFTConfig as TrlSFTConfig
from trl import SFTTrainer

from medgo.config.schema import RunConfig
from medgo.data.jsonl import read_jsonl
from medgo.data.stage import OUT_FILES
from medgo.pipeline.stage import StageContext, StageResult
from medgo.train.common import (
    ThroughputCallback,
    disabled,
    finish,
    make_args,
    maybe_lora,
    require_rows,
    resume_checkpoint,
    stage_tokenizer,
    starting_model,
)

NAME = "sft"


def config_for_hash(cfg: RunConfig) -> Any:
    return {"sft": cfg.sft.model_dump(mode="json"), "finetuning": cfg.model.finetuning, "lora": cfg.model.lora}


def build_trainer(
    cfg: RunConfig, model: PreTrainedModel, tok: PreTrainedTokenizerBase, rows: list[dict], out, callbacks=()
) -> SFTTrainer:
    s = cfg.sft
    ds = Dataset.from_list([{"messages": r["messages"]} for r in rows])
    args = make_args(
        TrlSFTConfig,
        s,
        out,
        cfg.seed,
        max_length=s.max_length,
        assistant_only_loss=s.assistant_only_loss,
        packing=False,
        dataset_num_proc=None,
    )
    return SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=tok, callbacks=list(callbacks))


def run(cfg: RunConfig, ctx: StageContext) -> StageResult:
    if not cfg.sft.enabled:
        return disabled(NAME)
    tok = stage_tokenizer(ctx)
    path = ctx.run.stage("data") / OUT_FILES["sft_train"]
    rows = list(read_jsonl(path))
    require_rows(len(rows), "SFT", path)
    model, started_from = starting_model(cfg, ctx, tok)
    model = maybe_lora(cfg, model)
    tp = ThroughputCallback()
    trainer = build_trainer(cfg, model, tok, rows, ctx.out, [tp])
    resumed = resume_checkpoint(ctx)
    trainer.train(resume_from_checkpoint=resumed)
    return finish(trainer, tok, ctx, tp, started_from, {"conversations": len(rows)}, resumed)
