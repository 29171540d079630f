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
    (root / "KUAKE-QIC_train.json").write_text(json.dumps(dev[:3], ensure_ascii=False), encoding="utf-8")
    info = write_cblue_subsets({"KUAKE-QIC": 7}, tmp_path / "data", tmp_path / "sub", seed=3)
    assert info["KUAKE-QIC"]["n"] == 7 and info["KUAKE-QIC"]["of"] == 30
    rows, _ = get_task("KUAKE-QIC").load("dev", tmp_path / "sub")
    again = write_cblue_subsets({"KUAKE-QIC": 7}, tmp_path / "data", tmp_path / "sub2", seed=3)
    assert [r["id"] for r in rows] == [r["id"] for r in get_task("KUAKE-QIC").load("dev", tmp_path / "sub2")[0]]
    assert again["KUAKE-QIC"]["n"] == 7


def test_task_without_train_keeps_its_train_share_out_of_the_subset(tmp_path: Path) -> None:
    from medgo.eval.cblue_sft import cblue_to_sft
    from medgo.eval.tasks.base import _bucket

    root = tmp_path / "data" / "CMeEE-V2"
    root.mkdir(parents=True)
    dev = [{"text": f"患者{i}号出现发热咳嗽", "entities": []} for i in range(60)]
    (root / "CMeEE-V2_dev.json").write_text(json.dumps(dev, ensure_ascii=False), encoding="utf-8")
    info = write_cblue_subsets({"CMeEE-V2": 0}, tmp_path / "data", tmp_path / "sub", seed=0)
    rows, _ = get_task("CMeEE-V2").load("dev", tmp_path / "sub")
    n_train = sum(_bucket(r) == 0 for r in dev)
    assert info["CMeEE-V2"]["n"] == len(rows) == 60 - n_train and all(_bucket(r) != 0 for r in rows)
    m = cblue_to_sft(["CMeEE-V2"], tmp_path / "sft.jsonl", tmp_path / "data")
    assert m["rows"] == n_train > 0 and m["tasks"]["CMeEE-V2"]["dropped_dev_overlap"] == 0


def test_eval_stage_cblue_per_task_methods_and_subsets(model_dir: Path, tmp_path: Path) -> None:
    from medgo.config.schema import CblueEvalConfig
    from medgo.eval.suite import StageInputs
    from medgo.eval.suites import get_suite
    from medgo.inference.hf import HFEngine

    root = tmp_path / "data" / "KUAKE-QIC"
    root.mkdir(parents=True)
    dev = [{"id": str(i), "query": f"问题{i}", "label": "其他"} for i in range(12)]
    for split in ("dev", "train"):
        (root / f"KUAKE-QIC_{split}.json").write_text(json.dumps(dev, ensure_ascii=False), encoding="utf-8")
    c = CblueEvalConfig(tasks=["KUAKE-QIC", "CHIP-STS"], data_dir=str(tmp_path / "data"), methods=["loglik"],
                        subset_sizes={"KUAKE-QIC": 5}, task_methods={"CHIP-STS": ["generate"]})
    with_sts = tmp_path / "data" / "CHIP-STS"
    with_sts.mkdir()
    sts = [{"id": "1", "text1": "头痛", "text2": "头疼", "label": "1", "category": "x"}]
    (with_sts / "CHIP-STS_dev.json").write_text(json.dumps(sts, ensure_ascii=False), encoding="utf-8")
    table = get_suite("cblue").for_stage(HFEngine.from_path(model_dir), c,
                                         StageInputs(model="sft", out=tmp_path / "out", data_dir=tmp_path / "data"))
    assert table["KUAKE-QIC"]["n"] == 5 and table["KUAKE-QIC"]["loglik"] is not None
    assert table["KUAKE-QIC"]["generate"] is None
    assert table["CHIP-STS"]["loglik"] is None and table["CHIP-STS"]["generate"] is not None
