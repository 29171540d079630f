"""Seeded evaluation subsets: same rows for the same seed, written where the harness finds them."""

from __future__ import annotations

import json
from pathlib import Path

from medgo.eval.subsets import seeded_sample, write_cblue_subsets
from medgo.eval.tasks import get_task


def test_seeded_sample_is_stable_and_ordered() -> None:
    rows = list(range(100))
    a, b = seeded_sample(rows, 10, "x:1"), seeded_sample(rows, 10, "x:1")
    assert a == b == sorted(a) and len(set(a)) == 10
    assert seeded_sample(rows, 10, "x:2") != a and seeded_sample(rows, 0, "x") == rows


def test_subsets_are_read_back_by_the_task(tmp_path: Path) -> None:
    root = tmp_path / "data" / "KUAKE-QIC"
    root.mkdir(parents=True)
    dev = [{"id": str(i), "query": f"问题{i}", "label": "其他"} for i in range(30)]
    (root / "KUAKE-QIC_dev.json").write_text(json.dumps(dev, ensure_ascii=False), encoding="utf-8")
    info = write_cblue_subsets({"KUAKE-QIC": 7}, tmp_path / "data", tmp_path / "sub", seed=3)
    assert info["KUAKE-QIC"]["n"] == 7 and info["KUAKE-QIC"]["of"] == 30
    rows, _ = get_task("KUAKE-QIC").load("dev", tmp_path / "sub")
    again = write_cblue_subsets({"KUAKE-QIC": 7}, tmp_path / "data", tmp_path / "sub2", seed=3)
    assert [r["id"] for r in rows] == [r["id"] for r in get_task("KUAKE-QIC").load("dev", tmp_path / "sub2")[0]]
    assert again["KUAKE-QIC"]["n"] == 7
