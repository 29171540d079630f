"""A LoRA stage saves a merged, plain transformers model: it loads in AutoModelForCausalLM and generates
exactly what the unmerged PEFT model generates (greedy, 32 tokens, 5 prompts)."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM

from medgo.config.schema import LoraConfig
from medgo.model.factory import load_model
from medgo.model.lora import apply_lora
from medgo.model.tokenizer import load_pretrained_tokenizer
from medgo.train.common import save_final

PROMPTS = ["头痛三天了，怎么办？", "高血压患者饮食要注意什么？", "What is the dose of ibuprofen?",
           "糖尿病 2 型，空腹血糖 8.2 mmol/L。", "咳嗽伴发热 38.5℃，需要做什么检查？"]


def _greedy(model, tok) -> list[list[int]]:
    out = []
    for p in PROMPTS:
        ids = tok.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True,
                                      return_tensors="pt", return_dict=True)
        with torch.no_grad():
            g = model.generate(**ids, max_new_tokens=32, do_sample=False)
        out.append(g[0, ids["input_ids"].shape[1]:].tolist())
    return out


@pytest.mark.parametrize("like,template", [("qwen2-0.5b", "qwen2"), ("qwen3-0.6b", "qwen3")])
def test_merged_lora_generates_what_peft_generates(checkpoint, tmp_path, like, template) -> None:
    ckpt = checkpoint(like, template)
    tok = load_pretrained_tokenizer(str(ckpt))
    model = apply_lora(load_model(ckpt, "float32"), LoraConfig(r=8, alpha=16, dropout=0.0))
    torch.manual_seed(0)
    for name, p in model.named_parameters():
        if "lora_B" in name:  # trained adapters: B is no longer zero
            p.data.normal_(0, 0.5)
    model.eval()
    unmerged = _greedy(model, tok)
    target = save_final(model, tok, tmp_path, tokenizer_dir=ckpt)
    merged = AutoModelForCausalLM.from_pretrained(target).eval()
    assert type(merged).__name__ == type(model.get_base_model()).__name__
    assert _greedy(merged, tok) == unmerged
    base = load_model(ckpt, "float32").eval()
    assert _greedy(base, tok) != unmerged  # the adapters did change the model
