"""What every training stage shares: TrainingArguments from config, resume, saving, throughput."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase, TrainerCallback, TrainingArguments
from transformers.trainer_utils import get_last_checkpoint

from medgo.config.schema import RunConfig, TrainConfig
from medgo.errors import MedgoError
from medgo.log import console
from medgo.model.factory import initial_model, load_model, set_generation_defaults
from medgo.model.lora import apply_lora, merge_if_peft
from medgo.model.tokenizer import load_tokenizer
from medgo.pipeline.run_dir import TRAIN_STAGES
from medgo.pipeline.stage import StageContext, StageResult


def training_kwargs(t: TrainConfig, out: Path, seed: int) -> dict[str, Any]:
    """TrainingArguments keywords shared by transformers' Trainer and TRL's configs."""
    gpu = torch.cuda.is_available()
    return dict(
        output_dir=str(out / "checkpoints"),
        num_train_epochs=t.epochs,
        max_steps=t.max_steps,
        learning_rate=t.learning_rate,
        lr_scheduler_type=t.lr_scheduler,
        warmup_steps=t.warmup_ratio,  # a float < 1 is a ratio of total steps in transformers 5
        weight_decay=t.weight_decay,
        max_grad_norm=t.max_grad_norm,
        per_device_train_batch_size=t.per_device_batch_size,
        per_device_eval_batch_size=t.per_device_batch_size,
        gradient_accumulation_steps=t.gradient_accumulation_steps,
        activation_checkpointing=t.gradient_checkpointing,
        bf16=t.bf16 and gpu,  # CPUs here have no bf16 units: fp32 is hundreds of times faster
        logging_steps=t.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=t.save_steps,
        save_total_limit=t.save_total_limit,
        seed=seed,
        data_seed=seed,
        report_to=["tensorboard"] if _has_tensorboard() else [],
        logging_dir=None,
        deepspeed=t.deepspeed,
        dataloader_num_workers=0,
        remove_unused_columns=False,
        use_cpu=not gpu,
        include_num_input_tokens_seen=True,
        disable_tqdm=False,
    )


def _has_tensorboard() -> bool:
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return False
    return True


def make_args(cls: type[TrainingArguments], t: TrainConfig, out: Path, seed: int, **extra: Any) -> TrainingArguments:
    kw = training_kwargs(t, out, seed)
    kw.pop("logging_dir", None)
    kw.update(extra)
    return cls(**kw)


def resume_checkpoint(ctx: StageContext) -> str | None:
    ckpt_dir = ctx.out / "checkpoints"
    if ctx.resume and ckpt_dir.is_dir():
        last = get_last_checkpoint(str(ckpt_dir))
        if last:
            console.print(f"{ctx.name}: resuming from {last}")
            return last
    return None


def stage_tokenizer(ctx: StageContext) -> PreTrainedTokenizerBase:
    return load_tokenizer(ctx.run.tokenizer_dir)


def starting_model(cfg: RunConfig, ctx: StageContext, tokenizer: PreTrainedTokenizerBase) -> tuple[PreTrainedModel, str]:
    """The model a training stage starts from: the newest earlier stage's, else the run's initial model."""
    prev = ctx.run.latest_model(before=ctx.name)
    if prev:
        name, path = prev
        model = load_model(path, cfg.model.dtype, cfg.model.attn_implementation, cfg.model.trust_remote_code)
        set_generation_defaults(model, tokenizer)
        return model, name
    return initial_model(cfg.model, tokenizer, cfg.seed), "init"


def maybe_lora(cfg: RunConfig, model: PreTrainedModel) -> PreTrainedModel:
    if cfg.model.finetuning == "lora":
        return apply_lora(model, cfg.model.lora)
    return model


def save_final(model: torch.nn.Module, tokenizer: PreTrainedTokenizerBase, out: Path) -> Path:
    """Merged, plain HF model + tokenizer in <stage>/model: what later stages, eval and serving load."""
    target = out / "model"
    merged = merge_if_peft(model)
    merged.save_pretrained(str(target), safe_serialization=True)
    tokenizer.save_pretrained(str(target))
    return target


class ThroughputCallback(TrainerCallback):
    """Tokens/s over the training loop (the Trainer counts input tokens when asked)."""

    def __init__(self) -> None:
        self.t0 = 0.0
        self.tokens0 = 0
        self.seconds = 0.0
        self.tokens = 0

    def on_train_begin(self, args, state, control, **kw):  # type: ignore[override]
        self.t0 = time.time()
        self.tokens0 = int(state.num_input_tokens_seen or 0)

    def on_train_end(self, args, state, control, **kw):  # type: ignore[override]
        self.seconds = time.time() - self.t0
        self.tokens = int(state.num_input_tokens_seen or 0) - self.tokens0


def finish(
    trainer: Any, tokenizer: PreTrainedTokenizerBase, ctx: StageContext, tp: ThroughputCallback, started_from: str,
    counts: dict[str, Any], resumed: str | None,
) -> StageResult:
    """Save model + loss history; return metrics for the manifest."""
    save_final(trainer.model, tokenizer, ctx.out)
    history = trainer.state.log_history
    (ctx.out / "log_history.json").write_text(json.dumps(history, indent=1), encoding="utf-8")
    losses = [h["loss"] for h in history if "loss" in h]
    final = next((h for h in reversed(history) if "train_loss" in h), {})
    metrics = {
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
        "train_loss": final.get("train_loss"),
        "steps": trainer.state.global_step,
        "tokens_seen": int(trainer.state.num_input_tokens_seen or 0),
        "tokens_per_s": round(tp.tokens / tp.seconds, 1) if tp.seconds > 0 else None,
        "peak_rss_mb": _peak_rss_mb(),
    }
    return StageResult(metrics=metrics, counts=counts, extra={"started_from": started_from, "resumed_from": resumed})


def _peak_rss_mb() -> float:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def disabled(name: str) -> StageResult:
    console.print(f"{name}: disabled in config ({name}.enabled=false); later stages use the previous model")
    return StageResult(status="disabled")


def require_rows(n: int, what: str, path: Path) -> None:
    if n == 0:
        raise MedgoError(f"no usable {what} rows in {path}", hint="check the data stage's rejects.jsonl and counts")


__all__ = ["TRAIN_STAGES"]
