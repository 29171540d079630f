"""`medgo run` on checkpoints laid out as Qwen releases, with `tokenizer.type: pretrained`: every stage
completes for LoRA and full tuning on each family, and what the stages save keeps the checkpoint's
tokenizer files and chat template byte for byte."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import pytest

from medgo_testkit import write_mini_project

# Small steps and a lean eval: the 151k vocabulary makes every step ~5x the tiny demo model's.
LEAN = [
    "pretrain.max_steps=2", "pretrain.save_steps=50", "sft.max_steps=2", "sft.save_steps=50",
    "preference.max_steps=1", "preference.save_steps=50", "eval.models=[init,preference]",
    "eval.classification.methods=[loglik]", "eval.classification.max_examples=6", "eval.max_heldout_docs=4",
]


def run_on_checkpoint(root: Path, ckpt: Path, finetuning: str, extra: list[str] = ()) -> Path:
    from medgo.config import load_config
    from medgo.pipeline.runner import run_pipeline

    cfg = write_mini_project(root)
    overrides = ["tokenizer.type=pretrained", f"model.base={ckpt}", f"model.finetuning={finetuning}", *LEAN, *extra]
    rd, summary = run_pipeline(load_config(cfg, overrides))
    assert [s["status"] for s in summary] == ["done"] * len(summary), summary
    return rd.root


def assert_tokenizer_unchanged(ckpt: Path, model_dir: Path) -> None:
    from medgo.model.tokenizer import tokenizer_files

    files = tokenizer_files(ckpt)
    assert {f.name for f in files} >= {"tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt"}
    for f in files:
        assert filecmp.cmp(f, model_dir / f.name, shallow=False), f"{model_dir / f.name} differs from {f}"
    assert not (model_dir / "chat_template.jinja").exists()  # the template stays inside tokenizer_config.json


@pytest.mark.parametrize("like,template,finetuning", [
    ("qwen2-0.5b", "qwen2", "lora"),
    ("qwen2.5-7b", "qwen2.5", "full"),
    ("qwen3-0.6b", "qwen3", "lora"),
    pytest.param("qwen3-0.6b", "qwen3", "full", marks=pytest.mark.slow),
    pytest.param("qwen2-0.5b", "qwen2", "full", marks=pytest.mark.slow),
    pytest.param("qwen2.5-7b", "qwen2.5", "lora", marks=pytest.mark.slow),
])
def test_run_completes_and_keeps_the_tokenizer(checkpoint, template_file, tmp_path, like, template, finetuning):
    ckpt = checkpoint(like, template)
    run = run_on_checkpoint(tmp_path, ckpt, finetuning)
    for stage in ("pretrain", "sft", "preference"):
        assert_tokenizer_unchanged(ckpt, run / stage / "model")
        cfg = json.loads((run / stage / "model" / "config.json").read_text())
        assert cfg["architectures"] == json.loads((ckpt / "config.json").read_text())["architectures"]
        assert not (run / stage / "model" / "adapter_config.json").exists()  # LoRA merged: a plain model
    assert_tokenizer_unchanged(ckpt, run / "tokenizer" / "tokenizer")
    sft = json.loads((run / "sft" / "manifest.json").read_text())
    assert sft["counts"]["rejected_too_long"] == 0 and sft["counts"]["conversations"] == sft["counts"]["conversations_in"]
    assert (run / "report" / "report.html").is_file()
    assert_chat_uses_the_checkpoint_template(ckpt, run)


def assert_chat_uses_the_checkpoint_template(ckpt: Path, run: Path) -> None:
    """`medgo chat` / `medgo serve` resolve the run to its final model and render with its tokenizer: the
    checkpoint's template, and turns stop at <|im_end|>."""
    from transformers import AutoTokenizer

    from medgo.inference.hf import HFEngine
    from medgo.inference.registry import resolve_model

    ref = resolve_model(run)
    assert ref.model_dir == run / "preference" / "model"
    engine = HFEngine.from_path(ref.model_dir, batch_size=1)
    msgs = [{"role": "system", "content": "你是医生助手。"}, {"role": "user", "content": "头痛怎么办？"}]
    own = AutoTokenizer.from_pretrained(ckpt).apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    assert engine.render(msgs) == own
    assert 151645 in engine.stop_ids
