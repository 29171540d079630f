"""The `preference` stage: DPO, IPO, KTO (TRL main package) and SimPO, ORPO (TRL experimental) on
chosen/rejected pairs. One dispatch table maps `preference.algorithm` to a TRL config + trainer."""

from __future__ import annotations

import warnings
from typing import Any

from datasets import Dataset
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from medgo.config.schema import PreferenceConfig, RunConfig
from medgo.data.schemas import prompt_messages
from medgo.stage import StageContext, StageResult
from medgo.train.common import (
    disabled,
    make_args,
    stage_rows,
    train_stage,
)
from medgo.train.distributed import reference_kwargs

NAME = "preference"
REWARD_KEYS = ("rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies")


def config_for_hash(cfg: RunConfig) -> Any:
    return {"preference": cfg.preference.model_dump(mode="json"), "finetuning": cfg.model.finetuning}


def to_trl_rows(rows: list[dict]) -> list[dict]:
    """Our schema -> TRL's conversational paired-preference format."""
    return [
        {
            "prompt": prompt_messages(r),
            "chosen": [{"role": "assistant", "content": r["chosen"]}],
            "rejected": [{"role": "assistant", "content": r["rejected"]}],
        }
        for r in rows
    ]


def to_kto_rows(rows: list[dict]) -> list[dict]:
    """KTO learns from unpaired examples: each pair gives one desirable and one undesirable completion."""
    out = []
    for r in to_trl_rows(rows):
        out.append({"prompt": r["prompt"], "completion": r["chosen"], "label": True})
        out.append({"prompt": r["prompt"], "completion": r["rejected"], "label": False})
    return out


def _classes(algorithm: str) -> tuple[type, type]:
    if algorithm in ("dpo", "ipo"):
        from trl import DPOConfig, DPOTrainer

        return DPOConfig, DPOTrainer
    if algorithm == "kto":
        from trl import KTOConfig, KTOTrainer

        return KTOConfig, KTOTrainer
    with warnings.catch_warnings():  # TRL warns that experimental APIs may change
        warnings.simplefilter("ignore")
        if algorithm == "simpo":
            from trl.experimental.cpo import CPOConfig, CPOTrainer

            return CPOConfig, CPOTrainer
        from trl.experimental.orpo import ORPOConfig, ORPOTrainer

        return ORPOConfig, ORPOTrainer


def _algorithm_kwargs(p: PreferenceConfig) -> dict[str, Any]:
    kw: dict[str, Any] = {"beta": p.beta, "max_length": p.max_length, "dataset_num_proc": None}
    if p.algorithm == "dpo":
        kw["loss_type"] = [p.loss_type]
    elif p.algorithm == "ipo":
        kw["loss_type"] = ["ipo"]
    elif p.algorithm == "simpo":
        kw.update(loss_type="simpo", cpo_alpha=0.0, simpo_gamma=p.simpo_gamma)
    return kw


def build_trainer(
    cfg: RunConfig, model: PreTrainedModel, tok: PreTrainedTokenizerBase, rows: list[dict], out, callbacks=()
):
    p = cfg.preference
    config_cls, trainer_cls = _classes(p.algorithm)
    ref = reference_kwargs(model) if p.algorithm in ("dpo", "ipo", "kto") else {}
    args = make_args(config_cls, p, out, cfg.seed, **_algorithm_kwargs(p), **ref)
    data = to_kto_rows(rows) if p.algorithm == "kto" else to_trl_rows(rows)
    kw: dict[str, Any] = dict(
        model=model, args=args, train_dataset=Dataset.from_list(data), processing_class=tok, callbacks=list(callbacks)
    )
    if p.algorithm in ("dpo", "ipo", "kto"):
        # No second copy of the model: with LoRA the reference is the base weights with adapters off; with
        # full/freeze tuning TRL computes the reference log-probs with the model itself before the first step
        # (precompute_ref_log_probs, see train/distributed.py).
        kw["ref_model"] = None
    return trainer_cls(**kw)


def run(cfg: RunConfig, ctx: StageContext) -> StageResult:
    if not cfg.preference.enabled:
        return disabled(NAME)
    tok, _, rows = stage_rows(ctx, "preference", "preference")
    result, trainer = train_stage(
        cfg, ctx, tok, cfg.preference.max_length,
        lambda model, cbs: build_trainer(cfg, model, tok, rows, ctx.out, cbs), {"pairs": len(rows)},
    )
    result.metrics["algorithm"] = cfg.preference.algorithm
    last = [h for h in trainer.state.log_history if any(k in h for k in REWARD_KEYS)]
    if last:
        for k in REWARD_KEYS:
            if k in last[-1]:
                result.metrics[k.replace("/", "_")] = last[-1][k]
    return result
