"""`medgo model init`: release layout, the family's published config values, the genuine tokenizer."""

from __future__ import annotations

import json

import pytest
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from medgo.model.checkpoint import FAMILIES, release_config, scaled_shape

# Published values of each release's config.json (vocabulary, tying, context, rope, sliding window).
PUBLISHED = {
    "qwen2-0.5b": dict(vocab_size=151936, tie_word_embeddings=True, max_position_embeddings=131072, hidden_size=896,
                       num_attention_heads=14, num_key_value_heads=2, num_hidden_layers=24),
    "qwen2-7b": dict(vocab_size=152064, tie_word_embeddings=False, max_position_embeddings=131072, hidden_size=3584,
                     num_attention_heads=28, num_key_value_heads=4, num_hidden_layers=28),
    "qwen2-72b": dict(vocab_size=152064, tie_word_embeddings=False, hidden_size=8192, num_attention_heads=64,
                      num_key_value_heads=8, num_hidden_layers=80, intermediate_size=29568),
    "qwen2.5-0.5b": dict(vocab_size=151936, tie_word_embeddings=True, max_position_embeddings=32768,
                         sliding_window=32768, hidden_size=896),
    "qwen2.5-7b": dict(vocab_size=152064, tie_word_embeddings=False, max_position_embeddings=131072),
    "qwen3-0.6b": dict(vocab_size=151936, tie_word_embeddings=True, head_dim=128, hidden_size=1024,
                       num_attention_heads=16, num_key_value_heads=8, num_hidden_layers=28, max_position_embeddings=40960),
    "qwen3-8b": dict(vocab_size=151936, tie_word_embeddings=False, head_dim=128, hidden_size=4096,
                     num_attention_heads=32, num_key_value_heads=8, num_hidden_layers=36),
    "qwen3-32b": dict(vocab_size=151936, tie_word_embeddings=False, head_dim=128, hidden_size=5120,
                      num_attention_heads=64, num_key_value_heads=8, num_hidden_layers=64),
}


@pytest.mark.parametrize("like", sorted(FAMILIES))
def test_full_size_config_has_the_published_values(like: str) -> None:
    cfg = release_config(FAMILIES[like], scaled_shape(FAMILIES[like], None, None))
    for k, v in PUBLISHED[like].items():
        assert cfg[k] == v, k
    assert cfg["rope_theta"] == 1000000.0 and cfg["torch_dtype"] == "bfloat16"
    assert cfg["architectures"] == (["Qwen3ForCausalLM"] if like.startswith("qwen3") else ["Qwen2ForCausalLM"])
    assert cfg["use_sliding_window"] is False


@pytest.mark.parametrize("like", sorted(FAMILIES))
@pytest.mark.parametrize("hidden", [8, 64, 96, 128, 200, 512, 896])
def test_smaller_width_keeps_shapes_valid(like: str, hidden: int) -> None:
    fam = FAMILIES[like]
    s = scaled_shape(fam, 2, hidden)
    assert s["hidden_size"] == hidden and s["num_hidden_layers"] == 2
    assert s["num_attention_heads"] % s["num_key_value_heads"] == 0
    if fam.head_dim is None:
        assert hidden % s["num_attention_heads"] == 0
    assert 1 <= s["num_key_value_heads"] <= fam.num_key_value_heads


@pytest.mark.parametrize("like,template,n_tokens,eos", [
    ("qwen2-0.5b", "qwen2", 151646, "<|endoftext|>"),
    ("qwen2.5-7b", "qwen2.5", 151665, "<|endoftext|>"),
    ("qwen3-0.6b", "qwen3", 151669, "<|im_end|>"),
])
def test_init_writes_the_release_layout(checkpoint, qwen2_tok, template_file, like, template, n_tokens, eos) -> None:
    d = checkpoint(like, template)
    names = {f.name for f in d.iterdir()}
    assert {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "vocab.json",
            "merges.txt", "model.safetensors.index.json"} <= names
    index = json.loads((d / "model.safetensors.index.json").read_text())
    shards = set(index["weight_map"].values())
    assert len(shards) >= 2 and shards <= names
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["torch_dtype"] == "bfloat16" and cfg["vocab_size"] == PUBLISHED[like]["vocab_size"]
    assert (cfg["num_hidden_layers"], cfg["hidden_size"]) == (2, 64)
    tc = json.loads((d / "tokenizer_config.json").read_text())
    assert tc["chat_template"] == template_file(template).read_text(encoding="utf-8")
    assert tc["eos_token"] == eos and tc["pad_token"] == "<|endoftext|>"

    tok = AutoTokenizer.from_pretrained(d)
    assert len(tok) == n_tokens
    assert [tok.convert_tokens_to_ids(t) for t in ("<|endoftext|>", "<|im_start|>", "<|im_end|>")] == [
        151643, 151644, 151645]
    if like.startswith("qwen3"):
        assert tok.convert_tokens_to_ids("<think>") == 151667 and tok.convert_tokens_to_ids("</think>") == 151668
    for text in ["头痛三天，伴有发热38.5℃，怎么办？", "Take 2 tablets of ibuprofen\n\n  daily.", "<|im_start|>user\n你好<|im_end|>\n"]:
        assert tok.encode(text) == qwen2_tok.encode(text)
    assert tok.encode("<|im_start|>user\n") == [151644, 872, 198]  # Qwen2's own ids

    model = AutoModelForCausalLM.from_pretrained(d)
    assert type(model).__name__ == cfg["architectures"][0]
    assert str(model.dtype) == "torch.bfloat16"
    assert model.get_input_embeddings().num_embeddings == cfg["vocab_size"]
    tied = model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    assert tied == cfg["tie_word_embeddings"]
    params = dict(model.named_parameters())
    if like.startswith("qwen3"):
        assert "model.layers.0.self_attn.q_norm.weight" in params and "model.layers.0.self_attn.k_norm.weight" in params
        assert params["model.layers.0.self_attn.q_proj.weight"].shape[0] == 128 * cfg["num_attention_heads"]
    else:
        assert "model.layers.0.self_attn.q_proj.bias" in params  # Qwen2's QKV bias
    assert AutoConfig.from_pretrained(d).model_type == cfg["model_type"]


def test_cli_model_init(tmp_path) -> None:
    from typer.testing import CliRunner

    from medgo.cli.main import app

    r = CliRunner().invoke(app, ["model", "init", "--like", "qwen2-0.5b", "--layers", "1", "--hidden", "32",
                                 "--out", str(tmp_path / "m")])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "m" / "config.json").read_text())["num_hidden_layers"] == 1
    r = CliRunner().invoke(app, ["model", "init", "--like", "qwen9", "--out", str(tmp_path / "x")])
    assert r.exit_code != 0
