"""GGUF export (read back, and run by llama.cpp when llama-cpp-python is installed) and the vLLM launcher."""

from __future__ import annotations

import sys

import pytest

from medgo.errors import MedgoError
from medgo.inference.base import GenerationParams
from medgo.model.export import export_gguf
from medgo.serve.settings import ServeSettings


@pytest.fixture(scope="module")
def gguf_f16(tiny_model, tmp_path_factory):
    return export_gguf(tiny_model, tmp_path_factory.mktemp("gguf"), "f16")


def test_gguf_file_has_qwen2_layout_tokenizer_and_template(gguf_f16, tiny_model) -> None:
    import gguf
    from transformers import AutoTokenizer

    r = gguf.GGUFReader(str(gguf_f16))
    fields = {k: v for k, v in r.fields.items()}
    arch = bytes(fields["general.architecture"].parts[-1]).decode()
    assert arch == "qwen2"
    names = {t.name for t in r.tensors}
    assert {"token_embd.weight", "output_norm.weight", "blk.0.attn_q.bias", "blk.1.ffn_down.weight"} <= names
    tok = AutoTokenizer.from_pretrained(str(tiny_model))
    n_tokens = len(fields["tokenizer.ggml.tokens"].data)
    assert n_tokens >= len(tok)
    assert "im_start" in bytes(fields["tokenizer.chat_template"].parts[-1]).decode()
    modelfile = (gguf_f16.parent / "Modelfile").read_text()
    assert modelfile.startswith(f"FROM ./{gguf_f16.name}") and 'PARAMETER stop "<|im_end|>"' in modelfile


def test_q8_0_export_is_smaller(tiny_model, tmp_path, gguf_f16) -> None:
    q8 = export_gguf(tiny_model, tmp_path, "q8_0")
    assert q8.stat().st_size < gguf_f16.stat().st_size
    with pytest.raises(MedgoError, match="unknown quantization"):
        export_gguf(tiny_model, tmp_path, "q3")


def test_missing_llama_cpp_is_a_clear_error(monkeypatch, gguf_f16) -> None:
    from medgo.inference.llamacpp import LlamaCppEngine

    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(MedgoError, match="pip install llama-cpp-python"):
        LlamaCppEngine.from_path(gguf_f16)


def test_llama_cpp_matches_transformers_greedy(gguf_f16, tiny_model) -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed (pip install llama-cpp-python)")
    import asyncio

    from medgo.inference.hf_batching import HFBatchingEngine
    from medgo.inference.llamacpp import LlamaCppEngine

    lc = LlamaCppEngine.from_path(gguf_f16, threads=1)
    hf = HFBatchingEngine.from_path(tiny_model)
    msgs = [{"role": "user", "content": "胸痛三天怎么办？"}]
    assert lc.render(msgs) == hf.render(msgs)
    ids = hf.encode(hf.render(msgs))
    assert lc.encode(lc.render(msgs)) == ids
    lc.start()
    try:

        async def run():
            return await lc.submit(ids, GenerationParams(max_new_tokens=12), "t").collect()

        text, fin = asyncio.run(run())
    finally:
        lc.shutdown()
    want = hf.hf.generate([msgs], GenerationParams(max_new_tokens=12))[0]
    assert fin.completion_tokens == want.completion_tokens
    assert text == want.text  # f16 weights: the same greedy path on this tiny model


def test_q4_k_m_export_served_by_llama_cpp_over_openai_api(tiny_model, tmp_path, serve) -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed (pip install llama-cpp-python)")
    import openai

    from medgo.inference.llamacpp import LlamaCppEngine

    q4 = export_gguf(tiny_model, tmp_path, "q4_k_m")
    assert q4.name.endswith("-q4_k_m.gguf") and (tmp_path / "Modelfile").read_text().startswith(
        f"FROM ./{q4.name}"
    )
    srv = serve(engine=LlamaCppEngine.from_path(q4, threads=1), model_name="medgo-q4")
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="none", max_retries=0, timeout=60)
    msgs = [{"role": "user", "content": "高血压吃什么药？"}]
    full = c.chat.completions.create(model="medgo-q4", messages=msgs, max_tokens=10, temperature=0)
    streamed = "".join(
        ch.choices[0].delta.content or ""
        for ch in c.chat.completions.create(
            model="medgo-q4", messages=msgs, max_tokens=10, temperature=0, stream=True
        )
        if ch.choices
    )
    assert streamed == full.choices[0].message.content and 0 < full.usage.completion_tokens <= 10


def test_vllm_command_uses_the_models_chat_template(tiny_model) -> None:
    from medgo.serve.vllm_launch import vllm_command

    cmd = vllm_command(tiny_model, ServeSettings(port=9000, api_keys=["k"]), name="medgo")
    assert cmd[:3] == ["vllm", "serve", str(tiny_model)]
    tpl = cmd[cmd.index("--chat-template") + 1]
    assert "<|im_start|>" in open(tpl, encoding="utf-8").read()
    assert cmd[cmd.index("--api-key") + 1] == "k" and cmd[cmd.index("--served-model-name") + 1] == "medgo"
