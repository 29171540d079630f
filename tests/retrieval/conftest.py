"""Fixtures: a small hand-written medical corpus and a tiny random sentence-transformers model built locally."""

from __future__ import annotations

from pathlib import Path

import pytest

from medgo.retrieval import Passage

CORPUS = [
    Passage("p1", "高血压患者应低盐饮食，每天食盐不超过六克，并按时服用降压药。", "高血压饮食"),
    Passage("p2", "糖尿病患者需要控制血糖，注意饮食和运动，必要时使用胰岛素。", "糖尿病管理"),
    Passage("p3", "感冒发烧可以多喝水，注意休息，体温超过38.5度可服用退烧药。", "感冒发烧"),
    Passage("p4", "胃炎患者应避免辛辣刺激食物，规律进食，可服用奥美拉唑抑酸。", "胃炎"),
    Passage("p5", "高血压和糖尿病都是慢性病，需要长期随访。", ""),
]


@pytest.fixture(scope="session")
def _session_vectors(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vectors")


@pytest.fixture(autouse=True)
def _private_vector_cache(_session_vectors: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Tests never read or write the user's vector cache (they share one for the session)."""
    monkeypatch.setenv("MEDGO_VECTOR_CACHE", str(_session_vectors))
    return _session_vectors


@pytest.fixture
def corpus() -> list[Passage]:
    return list(CORPUS)


def _make_tiny_model(out: Path) -> Path:
    """A 2-layer BERT with a character vocabulary + mean pooling: random weights, but real ST plumbing."""
    import torch
    from sentence_transformers import SentenceTransformer

    try:  # sentence-transformers >= 6 moved the modules
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    except ImportError:
        from sentence_transformers.models import Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    chars = sorted({c for p in CORPUS for c in p.content if c.strip()} | set("问题什么怎么办吃药"))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]
    bert_dir = out / "bert"
    bert_dir.mkdir(parents=True)
    (bert_dir / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(str(bert_dir / "vocab.txt"), do_lower_case=False).save_pretrained(bert_dir)
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(cfg).save_pretrained(bert_dir)
    word = Transformer(str(bert_dir), max_seq_length=64)
    dim = getattr(word, "get_embedding_dimension", None) or word.get_word_embedding_dimension
    st = SentenceTransformer(modules=[word, Pooling(dim(), "mean")])
    st.save(str(out / "st"))
    return out / "st"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("sentence_transformers")
    return _make_tiny_model(tmp_path_factory.mktemp("tiny_st"))
