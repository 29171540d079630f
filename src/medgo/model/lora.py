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


def freeze_layers(model: torch.nn.Module, trainable_layers: int, extra_modules: list[str]) -> tuple[int, int]:
    """Train only the last `trainable_layers` decoder layers (plus `extra_modules`); the rest is frozen."""
    layers = _decoder_layers(model)
    if trainable_layers > len(layers):
        from medgo.errors import ConfigError

        raise ConfigError(
            f"model.freeze_trainable_layers={trainable_layers} but the model has {len(layers)} decoder layers"
        )
    for p in model.parameters():
        p.requires_grad_(False)
    for layer in layers[len(layers) - trainable_layers :]:
        for p in layer.parameters():
            p.requires_grad_(True)
    for name, module in model.named_modules():
        if name.rsplit(".", 1)[-1] in extra_modules:
            for p in module.parameters():
                p.requires_grad_(True)
    total = sum(p.numel() for p in model.parameters())
    return sum(p.numel() for p in model.parameters() if p.requires_grad), total


def _decoder_layers(model: torch.nn.Module) -> torch.nn.ModuleList:
    for _, module in model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) and "DecoderLayer" in type(module[0]).__name__:
            return module
    raise ValueError("no decoder layers found (expected a ModuleList of *DecoderLayer)")


def merge_if_peft(model: torch.nn.Module) -> PreTrainedModel:
    """A plain HF model: LoRA weights merged in, so later stages and transformers/vLLM load it unchanged."""
    if hasattr(model, "merge_and_unload"):
        return model.merge_and_unload()
    return model  # type: ignore[return-value]
