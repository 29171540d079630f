"""`medgo export --gguf` on release-layout checkpoints: llama.cpp itself (llama-cpp-python) loads the file,
tokenizes 200 mixed strings to the HF tokenizer's ids, and continues 5 prompts greedily as transformers does
(f16: the first 16 tokens equal; q8_0: within the tolerance stated below). Without llama-cpp-python the
llama.cpp checks skip; the file's metadata is checked with the `gguf` reader either way."""

from __future__ import annotations

import random

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from medgo.model.export import export_gguf

ZH = ["头痛", "发热", "高血压", "糖尿病", "布洛芬", "阿莫西林", "冠心病", "肺炎", "患者", "医生", "建议", "复查",
      "血糖", "胸闷", "心电图", "（", "）", "，", "。", "；", "：", "？", "“", "”", "℃", "mmol/L", "mg"]
EN = ["the", "patient", "Ibuprofen", "take", "daily", "CT", "scan", "MRI", "HbA1c", "blood", "pressure", "don't",
      "it's", "We'll", "COVID-19", "e.g.", "x-ray", "'s", "(", ")", "-", "/", "%", "#", "@"]
NUM = ["0", "7", "38.5", "120/80", "2024", "1e-3", "3,000", "0.25", "99.9%", "12345678901"]
WS = [" ", "  ", "\t", "\n", "\n\n", " \n ", "\r\n", "   \t  ", "\u3000"]
SPECIAL = ["<|im_start|>", "<|im_end|>", "<|endoftext|>"]


def mixed_strings(n: int = 200, seed: int = 13) -> list[str]:
    """Chinese medical text, English, digits and whitespace runs, mixed; now and then a ChatML token."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        parts = []
        for _ in range(rng.randint(1, 12)):
            pool = rng.choices([ZH, EN, NUM, WS, SPECIAL], weights=[5, 4, 2, 2, 0.3])[0]
            parts.append(rng.choice(pool))
            if rng.random() < 0.3:
                parts.append(rng.choice(WS[:2]))
        s = "".join(parts)
        out.append(s if i % 10 else s.strip())
    return out


PROMPTS = ["头痛三天了，怎么办？", "高血压患者饮食要注意", "The patient has a fever of", "糖尿病 2 型，空腹血糖 8.2",
           "<|im_start|>user\n咳嗽伴发热<|im_end|>\n<|im_start|>assistant\n"]


def _hf_greedy(model, tok, n: int) -> list[list[int]]:
    out = []
    for p in PROMPTS:
        ids = tok.encode(p, add_special_tokens=False)
        with torch.no_grad():
            g = model.generate(torch.tensor([ids]), max_new_tokens=n, do_sample=False)
        out.append(g[0, len(ids):].tolist())
    return out


def _llama_greedy(llm, tok, n: int) -> list[list[int]]:
    out = []
    for p in PROMPTS:
        ids = tok.encode(p, add_special_tokens=False)
        got = []
        for t in llm.generate(ids, top_k=1, temp=0.0, reset=True):
            got.append(t)
            if len(got) == n:
                break
        out.append(got)
    return out


@pytest.fixture(scope="module", params=[("qwen2-0.5b", "qwen2"), ("qwen3-0.6b", "qwen3")], ids=["qwen2", "qwen3"])
def exported(request, checkpoint, tmp_path_factory):
    like, template = request.param
    ckpt = checkpoint(like, template)
    out = tmp_path_factory.mktemp(f"gguf-{like}")
    return ckpt, {q: export_gguf(ckpt, out, q) for q in ("f16", "q8_0")}


def test_gguf_metadata(exported) -> None:
    import gguf

    ckpt, files = exported
    tok = AutoTokenizer.from_pretrained(ckpt)
    r = gguf.GGUFReader(str(files["f16"]))
    arch = bytes(r.fields["general.architecture"].parts[-1]).decode()
    assert arch == AutoModelForCausalLM.from_pretrained(ckpt).config.model_type
    assert bytes(r.fields["tokenizer.ggml.pre"].parts[-1]).decode() == "qwen2"
    template = bytes(r.fields["tokenizer.chat_template"].parts[-1]).decode()
    assert template == tok.chat_template
    assert (files["f16"].parent / "Modelfile").is_file()


def test_llama_cpp_tokenizes_as_hf(exported) -> None:
    llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (pip install llama-cpp-python)")
    ckpt, files = exported
    tok = AutoTokenizer.from_pretrained(ckpt)
    llm = llama_cpp.Llama(str(files["f16"]), n_ctx=256, vocab_only=True, verbose=False)
    try:
        texts = mixed_strings()
        assert len(set(texts)) > 150
        bad = [(t, tok.encode(t, add_special_tokens=False), llm.tokenize(t.encode("utf-8"), add_bos=False, special=True))
               for t in texts]
        bad = [b for b in bad if b[1] != b[2]]
        assert not bad, f"{len(bad)} of {len(texts)} strings tokenized differently, e.g. {bad[0]!r}"
    finally:
        llm.close()


def test_llama_cpp_continues_as_transformers(exported) -> None:
    llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (pip install llama-cpp-python)")
    ckpt, files = exported
    tok = AutoTokenizer.from_pretrained(ckpt)
    hf = _hf_greedy(AutoModelForCausalLM.from_pretrained(ckpt, dtype=torch.float32).eval(), tok, 16)
    llm = llama_cpp.Llama(str(files["f16"]), n_ctx=256, n_threads=2, verbose=False, seed=0)
    try:
        assert _llama_greedy(llm, tok, 16) == hf  # f16: exactly transformers' tokens
    finally:
        llm.close()
    llm = llama_cpp.Llama(str(files["q8_0"]), n_ctx=256, n_threads=2, verbose=False, seed=0)
    try:
        q8 = _llama_greedy(llm, tok, 16)
    finally:
        llm.close()
    # q8_0 tolerance: the first 4 tokens of every prompt equal, and 75% of all 80 positions.
    assert all(a[:4] == b[:4] for a, b in zip(q8, hf, strict=True)), (q8, hf)
    same = sum(x == y for a, b in zip(q8, hf, strict=True) for x, y in zip(a, b, strict=True))
    assert same >= 0.75 * 80, (same, q8, hf)
