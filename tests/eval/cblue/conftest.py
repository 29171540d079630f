"""Where the shared real data lives (MEDGO_DATA or ../shared/data next to the repo); tests skip without it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    root = Path(os.environ.get("MEDGO_DATA") or REPO.parent / "shared" / "data")
    if not (root / "cblue").is_dir():
        pytest.skip("shared CBLUE data not found (set MEDGO_DATA)")
    return root
