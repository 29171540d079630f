"""`medgo data cblue-to-sft` and its seeded per-task limit, on a project-made CBLUE-shaped folder."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from medgo.cli.main import app
from medgo.eval.cblue_sft import cblue_to_sft

QUERIES = ["头痛怎么办", "高血压吃什么药", "感冒发烧挂什么科", "糖尿病能吃西瓜吗", "胃炎是什么原因引起的",
           "咳嗽吃什么好", "失眠怎么治疗", "胸痛要注意什么"]
LABELS = ["治疗方案", "治疗方案", "就医建议", "注意事项", "病因分析", "治疗方案", "治疗方案", "注意事项"]


def write_qic(root: Path) -> Path:
    d = root / "KUAKE-QIC"
    d.mkdir(parents=True)
    train = [{"id": f"t{i}", "query": q, "label": lab} for i, (q, lab) in enumerate(zip(QUERIES, LABELS, strict=True))]
    dev = [{"id": "d0", "query": QUERIES[0], "label": LABELS[0]}, {"id": "d1", "query": "腰疼怎么办", "label": "治疗方案"}]
    (d / "KUAKE-QIC_train.json").write_text(json.dumps(train, ensure_ascii=False), encoding="utf-8")
    (d / "KUAKE-QIC_dev.json").write_text(json.dumps(dev, ensure_ascii=False), encoding="utf-8")
    return root


def test_limit_is_a_seeded_sample_and_dev_overlap_is_dropped(tmp_path: Path) -> None:
    root = write_qic(tmp_path / "data")
    full = cblue_to_sft(["KUAKE-QIC"], tmp_path / "full.jsonl", root)
    assert full["rows"] == 7 and full["tasks"]["KUAKE-QIC"]["dropped_dev_overlap"] == 1
    a = cblue_to_sft(["KUAKE-QIC"], tmp_path / "a.jsonl", root, limit=4, seed=1)
    cblue_to_sft(["KUAKE-QIC"], tmp_path / "b.jsonl", root, limit=4, seed=1)
    assert a["rows"] <= 4 and (tmp_path / "a.jsonl").read_text() == (tmp_path / "b.jsonl").read_text()


def test_cli(tmp_path: Path) -> None:
    root = write_qic(tmp_path / "data")
    out = tmp_path / "sft.jsonl"
    r = CliRunner().invoke(app, ["data", "cblue-to-sft", "--tasks", "KUAKE-QIC", "--data-dir", str(root),
                                 "--out", str(out), "--limit", "5"])
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert 0 < len(rows) <= 5 and all(x["source"] == "cblue/KUAKE-QIC" for x in rows)
    assert [m["role"] for m in rows[0]["messages"]] == ["user", "assistant"]
    assert "cblue-to-sft" in r.output
