"""What sharded and multi-process training needs around the trainer: loading the model where ZeRO-3 / FSDP
want it, one GPU per QLoRA process, DPO's reference without a second full copy, and a final save that
gathers the weights the ranks hold in shards.

- `prepare_loading(t, out, seed)` before the model is loaded: ZeRO-3 gets its TrainingArguments (and so a live
  HfTrainerDeepSpeedConfig) first, so `from_pretrained` builds the model under `deepspeed.zero.Init` and each
  rank materialises its shard only; under FSDP with `fsdp_cpu_ram_efficient_loading` the process group is up
  first, so transformers loads the weights on rank 0 only (meta elsewhere); QLoRA ranks select their own GPU
  (bitsandbytes places a 4-bit model on `torch.cuda.current_device()`, which is cuda:0 on every rank unless set).
- `reference_kwargs(model)`: full-tuning DPO/KTO precompute the reference log-probs with the model itself
  before its first step (TRL's `precompute_ref_log_probs`) instead of holding a deep copy.
- `model_for_save(trainer)`: every rank joins the gather of a sharded model (ZeRO-3 16-bit weights, FSDP full
  state dict through `accelerator.get_state_dict`); rank 0 gets a plain CPU model with those weights. Unsharded
  runs (DDP, ZeRO-2, one process) return the trainer's model unchanged.
- `dequantized_merge(model)`: a QLoRA model merged into its base in 16-bit (the base reloaded unquantized,
  the adapter applied, merged), not a 4-bit model that exporters and vLLM's default loader cannot read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from medgo.config.schema import TrainConfig


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def zero_stage(deepspeed: str | dict | None) -> int:
    """The ZeRO stage of a DeepSpeed config file or dict (0 without one)."""
    if not deepspeed:
        return 0
    cfg = deepspeed if isinstance(deepspeed, dict) else json.loads(Path(deepspeed).read_text(encoding="utf-8"))
    return int((cfg.get("zero_optimization") or {}).get("stage", 0))


def prepare_loading(t: TrainConfig, out: Path, seed: int, quantized: bool = False) -> Any:
    """Call before loading the model; keep the returned object alive until the trainer exists."""
    keep = None
    if quantized and torch.cuda.is_available() and world_size() > 1:
        torch.cuda.set_device(local_rank())  # QLoRA: rank r's 4-bit weights on cuda:r, not all on cuda:0
    if zero_stage(t.deepspeed) == 3:
        from transformers import TrainingArguments

        from medgo.train.common import make_args

        keep = make_args(TrainingArguments, t, out, seed)  # holds the HfTrainerDeepSpeedConfig weakref target
    elif os.environ.get("ACCELERATE_USE_FSDP", "").lower() == "true" and world_size() > 1:
        from accelerate import PartialState

        keep = PartialState()  # process group up: transformers' is_fsdp_enabled() -> rank-0-only loading
    return keep


def reference_kwargs(model: torch.nn.Module) -> dict[str, Any]:
    """TRL DPO/KTO config keywords for the reference: LoRA needs none (adapters off = the reference); full and
    freeze tuning precompute the reference log-probs once, before training, with the model itself."""
    return {} if hasattr(model, "peft_config") else {"precompute_ref_log_probs": True}


def sharded(trainer: Any) -> bool:
    """Whether the trainer's ranks hold the weights in shards (ZeRO-3 or FSDP), so a save must gather."""
    acc = getattr(trainer, "accelerator", None)
    if acc is None:
        return False
    kind = str(getattr(acc, "distributed_type", ""))
    if kind.endswith("FSDP"):
        return True
    if kind.endswith("DEEPSPEED"):
        return zero_stage(acc.deepspeed_config) == 3
    return False


def gather_state_dict(model: torch.nn.Module, accelerator: Any | None = None) -> dict[str, torch.Tensor]:
    """The full state dict of a sharded model, on rank 0's CPU (empty elsewhere). A collective: every rank
    calls it. With an accelerator: `accelerator.get_state_dict` (ZeRO-3's 16-bit gather, FSDP1/FSDP2 full state
    dict). Without one (FSDP2 modules sharded by hand, as in the CPU tests): the same torch call accelerate
    makes for FSDP2."""
    if accelerator is not None:
        return accelerator.get_state_dict(model) or {}
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))


def materialize(model: torch.nn.Module, state_dict: dict[str, torch.Tensor]) -> torch.nn.Module:
    """A plain (unsharded) CPU copy of `model` holding `state_dict`: the same class built from its config
    without random init, a PEFT wrapper rebuilt around it when the model has adapters."""
    from transformers import AutoModelForCausalLM
    from transformers.initialization import no_init_weights

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    dtype = next(iter(state_dict.values())).dtype if state_dict else torch.float32
    with no_init_weights():
        plain = AutoModelForCausalLM.from_config(base.config, dtype=dtype)
    if hasattr(model, "peft_config"):
        from peft import get_peft_model

        plain = get_peft_model(plain, model.peft_config["default"])
    missing, unexpected = plain.load_state_dict(state_dict, strict=False)
    tied = {k for k in missing if k.endswith("lm_head.weight")} if getattr(base.config, "tie_word_embeddings", False) \
        else set()
    if set(missing) - tied or unexpected:
        raise RuntimeError(f"gathered weights do not fit the model: missing {sorted(set(missing) - tied)[:5]}, "
                           f"unexpected {sorted(unexpected)[:5]}")
    if tied:
        plain.tie_weights()
    return plain.eval()


def model_for_save(trainer: Any) -> torch.nn.Module | None:
    """The model rank 0 saves as <stage>/model (None on other ranks of a sharded run). Every rank must call
    it: under ZeRO-3 / FSDP it gathers the shards."""
    if not sharded(trainer):
        return trainer.model
    # DeepSpeed gathers through its engine (trainer.deepspeed), FSDP through the wrapped model (trainer.model)
    engine = getattr(trainer, "deepspeed", None)
    sd = gather_state_dict(engine if engine is not None else trainer.model, trainer.accelerator)
    if not trainer.is_world_process_zero():
        return None
    return materialize(trainer.accelerator.unwrap_model(trainer.model), sd)


def is_4bit(model: torch.nn.Module) -> bool:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return bool(getattr(base, "is_loaded_in_4bit", False) or getattr(base, "is_quantized", False))


def dequantized_merge(model: torch.nn.Module, dtype: torch.dtype = torch.bfloat16) -> torch.nn.Module:
    """QLoRA -> a plain 16-bit model: the base reloaded unquantized from where it was loaded (its config's
    name_or_path), the trained adapter weights set on it, merged. Merging into the 4-bit layers would round
    the merged weights back to NF4 and leave a bitsandbytes checkpoint."""
    from peft import get_peft_model, get_peft_model_state_dict, set_peft_model_state_dict
    from transformers import AutoModelForCausalLM

    base = model.get_base_model()
    path = base.config.name_or_path
    if not path or not Path(path).exists():
        raise RuntimeError(f"cannot reload the QLoRA base unquantized: {path!r} is not a local folder")
    adapter = {k: v.detach().to("cpu", dtype) for k, v in get_peft_model_state_dict(model).items()}
    plain = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    peft_cfg = model.peft_config["default"]
    wrapped = get_peft_model(plain, peft_cfg)
    set_peft_model_state_dict(wrapped, adapter)
    return wrapped.merge_and_unload()
