"""Model factory: any HF causal LM from a local path or hub id, or a tiny Qwen2ForCausalLM from config."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import (
    AutoModelForCausalLM,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    Qwen2Config,
    Qwen2ForCausalLM,
)

from medgo.config.schema import ModelConfig
from medgo.errors import MedgoError
from medgo.model.tokenizer import ENDOFTEXT, stop_token_ids

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def torch_dtype(name: str) -> torch.dtype | str:
    return DTYPES.get(name, "auto")


def padded_vocab(n: int, multiple: int = 64) -> int:
    return ((n + multiple - 1) // multiple) * multiple


def build_tiny_qwen2(cfg: ModelConfig, tokenizer: PreTrainedTokenizerBase, seed: int) -> Qwen2ForCausalLM:
    """A freshly initialised Qwen2 (deterministic for a given seed)."""
    t = cfg.tiny
    if t.hidden_size % t.num_attention_heads or t.num_attention_heads % t.num_key_value_heads:
        raise MedgoError(
            f"model.tiny: hidden_size ({t.hidden_size}) must divide by num_attention_heads ({t.num_attention_heads}) "
            f"and num_attention_heads by num_key_value_heads ({t.num_key_value_heads})"
        )
    eot = tokenizer.convert_tokens_to_ids(ENDOFTEXT)
    config = Qwen2Config(
        vocab_size=padded_vocab(len(tokenizer)),
        hidden_size=t.hidden_size,
        intermediate_size=t.intermediate_size,
        num_hidden_layers=t.num_hidden_layers,
        num_attention_heads=t.num_attention_heads,
        num_key_value_heads=t.num_key_value_heads,
        max_position_embeddings=t.max_position_embeddings,
        rope_theta=t.rope_theta,
        tie_word_embeddings=t.tie_word_embeddings,
        bos_token_id=eot,
        eos_token_id=stop_token_ids(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        use_cache=True,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.to(DTYPES.get(cfg.dtype, torch.float32))
    set_generation_defaults(model, tokenizer)
    return model


def set_generation_defaults(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
    """Chat turns end at <|im_end|>; padding uses the tokenizer's pad token."""
    gc = model.generation_config
    gc.eos_token_id = stop_token_ids(tokenizer)
    gc.pad_token_id = tokenizer.pad_token_id
    gc.bos_token_id = None


def load_model(
    path: str | Path,
    dtype: str = "float32",
    attn_implementation: str | None = None,
    trust_remote_code: bool = False,
    device_map: str | None = None,
    quantize_4bit: bool = False,
) -> PreTrainedModel:
    """Load a causal LM from a local folder or a hub id (weights may be sharded safetensors)."""
    kwargs: dict = {"dtype": torch_dtype(dtype), "trust_remote_code": trust_remote_code}
    if quantize_4bit:  # QLoRA: NF4 base weights, bf16 compute
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        )
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    if device_map:
        kwargs["device_map"] = device_map
    try:
        return AutoModelForCausalLM.from_pretrained(str(path), **kwargs)
    except OSError as e:
        raise MedgoError(
            f"cannot load model from {path!r}: {e}",
            hint="model.base must be a local folder with config.json + weights, or a hub id reachable from here",
        ) from None


def initial_model(cfg: ModelConfig, tokenizer: PreTrainedTokenizerBase, seed: int) -> PreTrainedModel:
    """The starting point of a run: model.base if given, else a tiny Qwen2 from scratch."""
    if cfg.base:
        model = load_model(
            cfg.base, cfg.dtype, cfg.attn_implementation, cfg.trust_remote_code, quantize_4bit=cfg.finetuning == "qlora"
        )
        if len(tokenizer) > model.get_input_embeddings().num_embeddings:
            model.resize_token_embeddings(padded_vocab(len(tokenizer)))
        return model
    return build_tiny_qwen2(cfg, tokenizer, seed)


def count_parameters(model: torch.nn.Module) -> tuple[int, int]:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return total, trainable
