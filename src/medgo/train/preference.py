"""The `preference` stage: DPO (and TRL's other DPO losses) on chosen/rejected pairs via TRL's DPOTrainer."""

from __future__ import annotations

from typing import Any

from datasets import Dataset
from transformers import PreTrainedModel, PreTrainedTokenizerBase
from trl import DPOConfig, DPOTrainer

from medgo.config.schema import RunConfig
from medgo.data.jsonl import read_jsonl
from medgo.data.schemas import prompt_messages
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

NAME = "preference"


def config_for_hash(cfg: RunConfig) -> Any:
    return {"preference": cfg.preference.model_dump(mode="json"), "finetuning": cfg.model.finetuning}


def to_trl_rows(rows: list[dict]) -> list[dict]:
    """Our schema -> TRL's conversational preference format."""
    return [
        {
            "prompt": prompt_messages(r),
            "chosen": [{"role": "assistant", "content": r["chosen"]}],
            "rejected": [{"role": "assistant", "content": r["rejected"]}],
        }
        for r in rows
    ]


def build_trainer(
    cfg: RunConfig, model: PreTrainedModel, tok: PreTrainedTokenizerBase, rows: list[dict], out, callbacks=()
) -> DPOTrainer:
    p = cfg.preference
    args = make_args(
        DPOConfig, p, out, cfg.seed, beta=p.beta, loss_type=[p.loss_type], max_length=p.max_length,
        dataset_num_proc=None,
    )
    # ref_model=None: TRL keeps a frozen copy (or, with LoRA, uses the base weights with adapters off).
    return DPOTrainer(
        model=model, ref_model=None, args=args, train_dataset=Dataset.from_list(to_trl_rows(rows)),
        processing_class=tok, callbacks=list(callbacks),
    )


def run(cfg: RunConfig, ctx: StageContext) -> StageResult:
    if not cfg.preference.enabled:
        return disabled(NAME)
    tok = stage_tokenizer(ctx)
    path = ctx.run.stage("data") / OUT_FILES["preference"]
    rows = list(read_jsonl(path))
    require_rows(len(rows), "preference", path)
    model, started_from = starting_model(cfg, ctx, tok)
    model = maybe_lora(cfg, model)
    tp = ThroughputCallback()
    trainer = build_trainer(cfg, model, tok, rows, ctx.out, [tp])
    resumed = resume_checkpoint(ctx)
    trainer.train(resume_from_checkpoint=resumed)
    result = finish(trainer, tok, ctx, tp, started_from, {"pairs": len(rows)}, resumed)
    last = [h for h in trainer.state.log_history if "rewards/accuracies" in h]
    if last:
        for k in ("rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies"):
            if k in last[-1]:
                result.metrics[k.replace("/", "_")] = last[-1][k]
    return result
