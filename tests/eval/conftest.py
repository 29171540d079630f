"""Fixtures shared by the eval suites: a tiny random Qwen2 folder, and the shared real data (skip without it).
tests/eval/cblue overrides `shared_data` to require the CBLUE folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from medgo_testkit import save_tiny_model

REPO = Path(__file__).resolve().parents[2]
TEXTS = ["患者胸痛，诊断为急性心肌梗死，建议PCI。", "高血压首选ACEI或ARB，限盐。", "答案：B。肺炎需抗生素治疗。"] * 20


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("tiny"), TEXTS)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    root = Path(os.environ.get("MEDGO_DATA") or REPO.parent / "shared" / "data")
    if not (root / "corpora").is_dir():
        pytest.skip("shared data not found (set MEDGO_DATA)")
    return root
