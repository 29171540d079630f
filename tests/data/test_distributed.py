"""Corpus cleaning on datatrove's local executor: several tasks, every row accounted for, PHI removed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("datatrove")


def _shards(d: Path) -> None:
    d.mkdir(parents=True)
    for k in range(3):
        rows = []
        for i in range(10):
            text = (f"患者张三，男，45岁，电话13812345678，主诉头痛{i}天（第{k}批）。高血压病史，服用氨氯地平5mg每日一次。"
                    if i % 5 else "短")
            rows.append(json.dumps({"id": f"{k}-{i}", "text": text}, ensure_ascii=False))
        (d / f"part{k}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_scale_clean_on_local_executor(tmp_path: Path) -> None:
    _shards(tmp_path / "in")
    r = subprocess.run(
        [sys.executable, "-m", "medgo.cli.main", "data", "scale-clean", "--in", str(tmp_path / "in"),
         "--out", str(tmp_path / "out"), "--tasks", "3", "--workers", "2", "--min-chars", "10"],
        capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    docs = [json.loads(x) for f in sorted((tmp_path / "out" / "docs").glob("*.jsonl"))
            for x in f.read_text(encoding="utf-8").splitlines()]
    rejects = [json.loads(x) for f in (tmp_path / "out" / "rejects").glob("*.jsonl")
               for x in f.read_text(encoding="utf-8").splitlines()]
    assert len(docs) == 24 and len(rejects) == 6 and len(docs) + len(rejects) == 30
    assert all("张三" not in d["text"] and "13812345678" not in d["text"] for d in docs)
    assert all("氨氯地平5mg" in d["text"] and "[姓名]" in d["text"] for d in docs)
    assert all(x["reason"].startswith("too short") for x in rejects)
    assert "scale-clean: 30 in, 24 out, 6 rejected" in r.stderr
