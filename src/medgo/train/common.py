"""What every training stage shares: TrainingArguments from config, resume, saving, throughput."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase, TrainingArguments
from transformers.trainer_utils import get_last_checkpoint

from medgo.config.schema import RunConfig, TrainConfig
from medgo.data.jsonl import read_jsonl
from medgo.data.stage import OUT_FILES
from medgo.errors import MedgoError
from medgo.log import console
from medgo.model.factory import initial_model, load_model, set_generation_defaults
from medgo.model.lora import apply_lora, freeze_layers, merge_if_peft
from medgo.model.tokenizer import load_tokenizer, save_tokenizer
from medgo.run_dir import TRAIN_STAGES
from medgo.stage import StageContext, StageResult
from medgo.train.compat import training_args_kwargs
from medgo.train.distributed import dequantized_merge, is_4bit, model_for_save, prepare_loading
from medgo.train.metrics import TelemetryCallback, quiet_stage, use_stage_progress


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
        use_cache=False,  # no KV cache in training; it would also disable the per-document attention mask
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
    return cls(**training_args_kwargs(cls, kw))  # field names of the installed transformers


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
    quantize = check_tuning_type(cfg)
    prev = ctx.run.latest_model(before=ctx.name)
    if prev:
        name, path = prev
        model = load_model(
            path, cfg.model.dtype, cfg.model.attn_implementation, cfg.model.trust_remote_code, quantize_4bit=quantize
        )
        set_generation_defaults(model, tokenizer)
        return model, name
    return initial_model(cfg.model, tokenizer, cfg.seed), "init"


def check_tuning_type(cfg: RunConfig) -> bool:
    """QLoRA needs CUDA and bitsandbytes: say so up front instead of failing deep inside a library."""
    if cfg.model.finetuning != "qlora":
        return False
    if not torch.cuda.is_available():
        raise MedgoError(
            "model.finetuning=qlora needs a CUDA GPU (bitsandbytes 4-bit kernels); none is available here",
            hint="use model.finetuning=lora on CPU",
        )
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise MedgoError("model.finetuning=qlora needs bitsandbytes", hint="pip install bitsandbytes") from None
    return True


def maybe_lora(cfg: RunConfig, model: PreTrainedModel) -> PreTrainedModel:
    """Apply the tuning type: full (all weights), freeze (last N layers), lora, qlora (4-bit base + LoRA)."""
    ft = cfg.model.finetuning
    if ft in ("lora", "qlora"):
        if ft == "qlora":
            from peft import prepare_model_for_kbit_training

            model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=True)
        return apply_lora(model, cfg.model.lora)
    if ft == "freeze":
        freeze_layers(model, cfg.model.freeze_trainable_layers, cfg.model.freeze_extra_modules)
    return model


def save_final(
    model: torch.nn.Module, tokenizer: PreTrainedTokenizerBase, out: Path, tokenizer_dir: Path | None = None
) -> Path:
    """Merged, plain HF model + tokenizer in <stage>/model: what later stages, eval and serving load. The
    tokenizer files are the run's tokenizer stage's, byte for byte (a checkpoint's own files and template)."""
    target = out / "model"
    merged = dequantized_merge(model) if is_4bit(model) else merge_if_peft(model)  # QLoRA: 16-bit, not NF4
    merged.save_pretrained(str(target), safe_serialization=True)
    save_tokenizer(tokenizer, target, tokenizer_dir)
    return target


def finish(
    trainer: Any, tokenizer: PreTrainedTokenizerBase, ctx: StageContext, tp: TelemetryCallback, started_from: str,
    counts: dict[str, Any], resumed: str | None,
) -> StageResult:
    """Save model + loss history (main process only); return metrics for the manifest."""
    history = trainer.state.log_history
    model = model_for_save(trainer)  # ZeRO-3 / FSDP: every rank joins the gather; rank 0 gets the model
    if trainer.is_world_process_zero():
        save_final(model, tokenizer, ctx.out, ctx.run.tokenizer_dir)
        (ctx.out / "log_history.json").write_text(json.dumps(history, indent=1), encoding="utf-8")
    trainer.accelerator.wait_for_everyone()
    losses = [h["loss"] for h in history if "loss" in h]
    final = next((h for h in reversed(history) if "train_loss" in h), {})
    metrics = {
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
        "train_loss": final.get("train_loss"),
        "steps": trainer.state.global_step,
        "tokens_seen": int(trainer.state.num_input_tokens_seen or 0),
        **tp.summary(trainer.args.world_size),
    }
    return StageResult(metrics=metrics, counts=counts, extra={"started_from": started_from, "resumed_from": resumed})


def train_stage(
    cfg: RunConfig,
    ctx: StageContext,
    tokenizer: PreTrainedTokenizerBase,
    seq_len: int,
    make_trainer: Callable[[PreTrainedModel, list], Any],
    counts: dict[str, Any],
) -> tuple[StageResult, Any]:
    """The common body of every training stage: starting model, tuning type, telemetry, resume, train, save."""
    with quiet_stage(ctx.out):  # one progress line on the console; library output to <stage>/train.log
        loading = prepare_loading(getattr(cfg, ctx.name), ctx.out, cfg.seed, cfg.model.finetuning == "qlora")
        model, started_from = starting_model(cfg, ctx, tokenizer)
        model = maybe_lora(cfg, model)
        tp = TelemetryCallback(ctx.out, seq_len)
        trainer = make_trainer(model, [tp])
        use_stage_progress(trainer, ctx.name, ctx.out)
        del loading  # the trainer's own arguments hold the DeepSpeed config from here on
        resumed = resume_checkpoint(ctx)
        trainer.train(resume_from_checkpoint=resumed)
        return finish(trainer, tokenizer, ctx, tp, started_from, counts, resumed), trainer


def stage_rows(ctx: StageContext, data_file: str, what: str) -> tuple[PreTrainedTokenizerBase, Path, list[dict]]:
    """The preamble of the SFT and preference stages: the run's tokenizer and the data stage's rows of
    `data_file` (a key of OUT_FILES), at least one of them."""
    tok = stage_tokenizer(ctx)
    path = ctx.run.stage("data") / OUT_FILES[data_file]
    rows = list(read_jsonl(path))
    require_rows(len(rows), what, path)
    return tok, path, rows


def disabled(name: str) -> StageResult:
    console.print(f"{name}: disabled in config ({name}.enabled=false); later stages use the previous model")
    return StageResult(status="disabled")


def require_rows(n: int, what: str, path: Path) -> None:
    if n == 0:
        raise MedgoError(f"no usable {what} rows in {path}", hint="check the data stage's rejects.jsonl and counts")


__all__ = ["TRAIN_STAGES"]
