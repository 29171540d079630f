"""Sampling answers from a real tiny model, then ranking them into preference pairs."""

from __future__ import annotations

import json
from pathlib import Path

from medgo.config.schema import ModelConfig, TinyModelConfig
from medgo.data.builders_pref import build_pref
from medgo.eval.sampling import sample_answers
from medgo.inference.base import GenerationParams
from medgo.inference.hf import HFEngine
from medgo.model.factory import build_tiny_qwen2
from medgo.model.tokenizer import train_bpe_tokenizer


def test_samples_rank_into_pairs(tmp_path: Path) -> None:
    texts = ["高血压患者应低盐饮食，规律服药。", "糖尿病需要控制血糖。"] * 30
    tok = train_bpe_tokenizer(texts, vocab_size=300)
    mc = ModelConfig(tiny=TinyModelConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                          num_attention_heads=2, num_key_value_heads=1))
    engine = HFEngine(build_tiny_qwen2(mc, tok, seed=0), tok, batch_size=8)
    rows = [{"id": "q1", "prompt": "高血压怎么办？", "reference": "低盐饮食，规律服药。"},
            {"id": "q2", "question": "糖尿病怎么办？", "reference": "控制血糖。"}]
    got = list(sample_answers(engine, rows, 4, GenerationParams(max_new_tokens=12, temperature=1.0, seed=3)))
    assert [r["id"] for r in got] == ["q1", "q2"] and all(len(r["answers"]) == 4 for r in got)
    assert len(set(got[0]["answers"])) > 1  # sampling, not four copies of the greedy answer
    src = tmp_path / "samples.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in got), encoding="utf-8")
    m = build_pref([src], tmp_path / "pairs.jsonl", mode="sampled")
    assert m["rows_in"] == 2 and m["rows_out"] + m["rejected"] == 2


def test_utf8_file_holding_replacement_characters_is_utf8(tmp_path: Path) -> None:
    from medgo.data.readers import detect_encoding

    p = tmp_path / "x.jsonl"
    p.write_text(json.dumps({"text": "模型输出\ufffd\ufffd\ufffd" * 50}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert detect_encoding(p) == "utf-8"
