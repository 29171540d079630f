"""Eval on several GPUs: a stage's model is spread over them, and the engine leaves a dispatched model where
accelerate put it (moving it would undo the spread; CPU-checkable parts of the multi-GPU path)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from medgo.eval import stage
from medgo.inference.hf import HFEngine
from medgo.model.factory import load_model
from medgo.model.tokenizer import load_tokenizer
from medgo_testkit import save_tiny_model


def test_device_map_only_with_several_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    assert stage.spread_over_gpus() is None
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert stage.spread_over_gpus() is None
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 8)
    assert stage.spread_over_gpus() == "auto"


def test_engine_keeps_a_dispatched_model_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mdir = save_tiny_model(tmp_path / "m", ["头痛发热三天。", "咳嗽两周。"])
    model, tok = load_model(mdir), load_tokenizer(mdir)
    model.hf_device_map = {"model.embed_tokens": "cpu", "model.layers.0": 0}  # as accelerate records a spread
    moved = []
    monkeypatch.setattr(model, "to", lambda *a, **k: moved.append(a) or model)
    eng = HFEngine(model, tok)
    assert moved == [] and eng.device == model.device
    del model.hf_device_map
    HFEngine(model, tok, device="cpu")
    assert moved  # an ordinary model is placed by the engine
