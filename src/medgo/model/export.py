"""Deployment artefacts: a merged model folder (LoRA folded in), and a GGUF file that llama.cpp and Ollama
load, plus an Ollama Modelfile. GGUF is written with the `gguf` package (Qwen2 layout, byte-level BPE with
the qwen2 pre-tokenizer, the ChatML template); f16 and q8_0 need nothing else, q4_k_m is quantized by
llama.cpp itself through llama-cpp-python."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from medgo.errors import MedgoError
from medgo.log import get_logger

log = get_logger(__name__)
QUANTS = ("f16", "q8_0", "q4_k_m")
_ARCHS = {"qwen2": "QWEN2", "qwen3": "QWEN3"}  # transformers model_type -> gguf.MODEL_ARCH name
_OLLAMA_TEMPLATE = (
    "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}"
    "<|im_start|>assistant\n"
)


def merge_model(model_dir: Path, out: Path) -> Path:
    """A plain transformers folder: a PEFT adapter is merged into its base; a full model is copied as is."""
    if (out / "config.json").is_file():
        return out
    out.mkdir(parents=True, exist_ok=True)
    if (model_dir / "adapter_config.json").is_file():
        from peft import AutoPeftModelForCausalLM
        from transformers import AutoTokenizer

        model = AutoPeftModelForCausalLM.from_pretrained(str(model_dir)).merge_and_unload()
        model.save_pretrained(out)
        AutoTokenizer.from_pretrained(str(model_dir)).save_pretrained(out)
    else:
        for f in model_dir.iterdir():
            if f.is_file():
                shutil.copy2(f, out / f.name)
    return out


def export_gguf(model_dir: Path, out_dir: Path, quant: str = "q4_k_m") -> Path:
    """Write <out_dir>/<name>-<quant>.gguf and a Modelfile next to it. Returns the GGUF path."""
    if quant not in QUANTS:
        raise MedgoError(f"unknown quantization {quant!r}", hint=f"use one of {', '.join(QUANTS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    name = model_dir.name
    target = out_dir / f"{name}-{quant}.gguf"
    base_type = "q8_0" if quant == "q8_0" else "f16"
    base = target if quant != "q4_k_m" else out_dir / f"{name}-f16.gguf"
    _write_gguf(
        merge_model(model_dir, out_dir / "merged") if _is_adapter(model_dir) else model_dir, base, base_type
    )
    if quant == "q4_k_m":
        _llama_quantize(base, target, "q4_k_m")
    (out_dir / "Modelfile").write_text(modelfile(target.name), encoding="utf-8")
    return target


def _is_adapter(model_dir: Path) -> bool:
    return (model_dir / "adapter_config.json").is_file()


def modelfile(gguf_name: str) -> str:
    return (
        f"FROM ./{gguf_name}\n"
        f'TEMPLATE """{_OLLAMA_TEMPLATE}"""\n'
        'PARAMETER stop "<|im_end|>"\nPARAMETER stop "<|endoftext|>"\nPARAMETER temperature 0.7\n'
        'SYSTEM """你是一名严谨的临床医生助手，回答仅供医生参考。"""\n'
    )


def _write_gguf(model_dir: Path, path: Path, dtype: str) -> None:
    import gguf
    import torch
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoTokenizer

    cfg = AutoConfig.from_pretrained(str(model_dir))
    if cfg.model_type not in _ARCHS:
        raise MedgoError(
            f"GGUF export supports Qwen2 / Qwen2.5 / Qwen3 models; {model_dir} is {cfg.model_type!r}",
            hint="for other architectures use llama.cpp's convert_hf_to_gguf.py",
        )
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    arch = _ARCHS[cfg.model_type]
    w = gguf.GGUFWriter(str(path), cfg.model_type)
    w.add_name(model_dir.name)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    head_dim = getattr(cfg, "head_dim", None)
    if head_dim and head_dim != cfg.hidden_size // cfg.num_attention_heads:  # Qwen3: head_dim is its own value
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
    w.add_rope_freq_base(float(getattr(cfg, "rope_theta", None) or cfg.rope_parameters["rope_theta"]))
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0 if dtype == "q8_0" else gguf.LlamaFileType.MOSTLY_F16)
    _add_tokenizer(w, tok, cfg.vocab_size)

    names = gguf.get_tensor_name_map(getattr(gguf.MODEL_ARCH, arch), cfg.num_hidden_layers)
    state: dict[str, torch.Tensor] = {}
    for f in sorted(model_dir.glob("*.safetensors")):
        state.update(load_file(str(f)))
    if not state:
        raise MedgoError(
            f"{model_dir} has no .safetensors weights", hint="save the model with save_pretrained()"
        )
    for hf_name, t in state.items():
        if hf_name == "lm_head.weight" and cfg.tie_word_embeddings:
            continue
        gname = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gname is None:
            raise MedgoError(f"GGUF export: no llama.cpp name for tensor {hf_name}")
        data = t.float().numpy()
        if data.ndim == 1:  # norms and biases stay f32, as llama.cpp expects
            w.add_tensor(gname, data.astype(np.float32))
        elif dtype == "q8_0" and data.shape[-1] % 32 == 0:
            q = gguf.quants.quantize(data.astype(np.float32), gguf.GGMLQuantizationType.Q8_0)
            w.add_tensor(gname, q, raw_shape=q.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        else:
            w.add_tensor(gname, data.astype(np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def _add_tokenizer(w, tok, vocab_size: int) -> None:
    import gguf

    vocab = tok.get_vocab()
    by_id = {i: t for t, i in vocab.items()}
    # Added tokens are atomic in transformers: special ones are CONTROL tokens for llama.cpp, the others
    # (Qwen's <think>, <tool_call>, <|fim_*|>) USER_DEFINED, so llama.cpp matches them whole as HF does.
    added = {i: a for i, a in tok.added_tokens_decoder.items()}
    tokens, types = [], []
    for i in range(vocab_size):
        t = by_id.get(i)
        if t is None:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
        else:
            tokens.append(t)
            if i in added:
                types.append(gguf.TokenType.CONTROL if added[i].special else gguf.TokenType.USER_DEFINED)
            else:
                types.append(gguf.TokenType.NORMAL)
    merges = json.loads(tok.backend_tokenizer.to_str())["model"]["merges"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in merges]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")  # the same pre-tokenisation regex medgo's tokenizers use
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    eot = tok.convert_tokens_to_ids("<|endoftext|>")
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    w.add_bos_token_id(eot)
    w.add_eos_token_id(im_end if isinstance(im_end, int) and im_end >= 0 else eot)
    w.add_eot_token_id(im_end if isinstance(im_end, int) and im_end >= 0 else eot)
    w.add_pad_token_id(tok.pad_token_id if tok.pad_token_id is not None else eot)
    w.add_add_bos_token(False)
    if tok.chat_template:
        w.add_chat_template(tok.chat_template)


def _llama_quantize(src: Path, dst: Path, quant: str) -> None:
    try:
        import llama_cpp
    except ImportError:
        raise MedgoError(
            f"--quant {quant} is done by llama.cpp, and llama-cpp-python is not installed",
            hint="pip install llama-cpp-python (builds llama.cpp: cmake, C++ compiler), or --quant q8_0/f16",
        ) from None
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), params)
    if rc != 0:
        raise MedgoError(f"llama.cpp quantization to {quant} failed (code {rc})")
