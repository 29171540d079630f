from __future__ import annotations

import pytest

from medgo.data.dedup import DedupConfig, Deduper, exact_hash
from medgo.data.steps import dedup_files

A = "患者男性，45岁，因反复咳嗽咳痰10年，加重伴气促3天入院。既往高血压病史5年，口服硝苯地平控释片30mg qd，血压控制可。"
B = "中医经典著作神农本草经记载了三百六十五种药物，分为上中下三品，上品一百二十种为君，主养命以应天。"


def test_exact_hash_ignores_space_and_punctuation():
    assert exact_hash("患者 发热，咳嗽。") == exact_hash("患者发热咳嗽")
    assert exact_hash("患者发热") != exact_hash("患者咳嗽")


@pytest.mark.parametrize("backend", ["memory", "disk"])
def test_near_dedup(backend, tmp_path):
    d = Deduper(DedupConfig(backend=backend), workdir=tmp_path)
    assert d.check("f:1", A) is None
    assert d.check("f:2", A + "  ").startswith("exact duplicate: same text as f:1")
    assert d.check("f:3", A.replace("3天", "4天")).startswith("near duplicate")
    assert d.check("f:4", B) is None
    assert d.check("f:5", A[: len(A) // 2]) is None  # half a document is not a near duplicate at 0.8
    d.close()
    assert (d.n_exact, d.n_near) == (1, 1)


@pytest.mark.parametrize("backend", ["memory", "disk"])
def test_dedup_files_accounting(write_jsonl, tmp_path, rows, backend):
    long = A + B  # one changed character in ~110 touches 5 of ~105 shingles: Jaccard ~0.9
    p = write_jsonl("a.jsonl", [{"id": i, "text": t} for i, t in enumerate([long, B, long, long.replace("10年", "11年")])])
    m = dedup_files([p], tmp_path / "o", cfg=DedupConfig(backend=backend))  # "o" does not exist yet
    assert [r["id"] for r in rows(tmp_path / "o" / "dedup.jsonl")] == [0, 1]
    assert m["deduplicated"] == 2 and m["duplicates"]["exact"] == 1 and m["duplicates"]["near"] == 1
    assert m["rows_in"] == m["rows_out"] + m["rejected"] + m["deduplicated"]
    assert all(r["where"].startswith(str(p)) for r in rows(tmp_path / "o" / "dedup.rejects.jsonl"))
