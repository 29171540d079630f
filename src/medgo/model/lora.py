"""LoRA through PEFT; target modules are found by one helper, used by every stage."""

from __future__ import annotations

import torch
from transformers import PreTrainedModel

from medgo.config.schema import LoraConfig


def find_linear_targets(model: torch.nn.Module) -> list[str]:
    """Names (last component) of every nn.Linear except the output head: LLaMA-Factory's `all` targets."""
    names: set[str] = set()
    output = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and module is not output:
            names.add(name.rsplit(".", 1)[-1])
    names.discard("lm_head")
    return sorted(names)


def apply_lora(model: PreTrainedModel, cfg: LoraConfig) -> PreTrainedModel:
    from peft import LoraConfig as PeftLoraConfig
    from peft import get_peft_model

    targets = find_linear_targets(model) if cfg.target_modules == "all-linear" else list(cfg.target_modules)
    peft_cfg = PeftLoraConfig(
        r=cfg.r, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout, target_modules=targets, task_type="CAUSAL_LM"
    )
    return get_peft_model(model, peft_cfg)


def merge_if_peft(model: torch.nn.Module) -> PreTrainedModel:
    """A plain HF model: LoRA weights merged in, so later stages and transformers/vLLM load it unchanged."""
    if hasattr(model, "merge_and_unload"):
        return model.merge_and_unload()
    return model  # type: ignore[return-value]
