from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture
def write_jsonl(tmp_path: Path):
    def w(name: str, rows: list, raw_lines: list[str] | None = None) -> Path:
        p = tmp_path / name
        lines = [json.dumps(r, ensure_ascii=False) for r in rows] + (raw_lines or [])
        p.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return p

    return w


def read(p: Path) -> list[dict]:
    return [json.loads(x) for x in Path(p).read_text(encoding="utf-8").splitlines() if x.strip()]


@pytest.fixture
def rows():
    return read
