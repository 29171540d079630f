"""Checks on the committed synthetic demo data in data/demo (schemas, counts, splits, determinism)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from demo_data.generate import LABELS, QIC_TEMPLATE, generate

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo"
FILES = ("corpus.jsonl", "sft.jsonl", "preference.jsonl", "eval_cls.jsonl", "README.md")


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (DEMO / name).read_text(encoding="utf-8").splitlines()]


def test_corpus_schema_and_size() -> None:
    rows = load("corpus.jsonl")
    assert 300_000 <= (DEMO / "corpus.jsonl").stat().st_size <= 450_000
    for r in rows:
        assert set(r) == {"id", "text", "source"} and r["source"] == "demo-corpus"
        assert 100 <= len(r["text"]) <= 600
    assert len({r["text"] for r in rows}) == len(rows)
    assert rows[0]["id"] == "corpus-00001"


def test_sft_schema_and_alternation() -> None:
    rows = load("sft.jsonl")
    assert 400 <= len(rows) <= 500
    sources = Counter(r["source"] for r in rows)
    assert 180 <= sources["demo-qic"] <= 220
    for r in rows:
        assert set(r) == {"id", "messages", "source"}
        msgs = r["messages"]
        if msgs[0]["role"] == "system":
            msgs = msgs[1:]
        assert msgs and msgs[-1]["role"] == "assistant"
        for i, m in enumerate(msgs):
            assert set(m) == {"role", "content"} and m["content"]
            assert m["role"] == ("user" if i % 2 == 0 else "assistant")
        if r["source"] == "demo-qic":
            assert len(msgs) == 2 and msgs[1]["content"] in LABELS
            assert msgs[0]["content"].startswith(QIC_TEMPLATE.split("{text}")[0])
            assert msgs[0]["content"].endswith("\n答案：")
    assert any(r["messages"][0]["role"] == "system" for r in rows)
    assert any(sum(m["role"] == "user" for m in r["messages"]) >= 2 for r in rows)


def test_preference_schema() -> None:
    rows = load("preference.jsonl")
    assert 120 <= len(rows) <= 150
    for r in rows:
        assert set(r) == {"id", "messages", "chosen", "rejected", "source"} and r["source"] == "demo-pref"
        assert [m["role"] for m in r["messages"]] == ["user"]
        assert r["chosen"] and r["rejected"] and r["chosen"] != r["rejected"]


def test_eval_balanced_and_disjoint() -> None:
    rows = load("eval_cls.jsonl")
    assert len(rows) == 120
    for r in rows:
        assert set(r) == {"id", "task", "text", "label"} and r["task"] == "qic"
    assert Counter(r["label"] for r in rows) == {lab: 20 for lab in LABELS}
    assert len({r["text"] for r in rows}) == 120
    users = [m["content"] for r in load("sft.jsonl") for m in r["messages"] if m["role"] == "user"]
    for r in rows:
        assert not any(r["text"] in u for u in users), r["text"]


@pytest.mark.parametrize("name", ["corpus.jsonl", "sft.jsonl", "preference.jsonl", "eval_cls.jsonl"])
def test_ids_unique(name: str) -> None:
    ids = [r["id"] for r in load(name)]
    assert len(set(ids)) == len(ids)


def test_regenerate_is_byte_identical(tmp_path: Path) -> None:
    generate(tmp_path, seed=0)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (DEMO / name).read_bytes(), name
