"""Passage retrieval for RAG and evaluation: `Index.load(dir).search(query, k) -> list[Hit]`."""

from medgo.retrieval.corpus import Passage, read_passages
from medgo.retrieval.fusion import rrf
from medgo.retrieval.index import METHODS, Hit, Index, build_index
from medgo.retrieval.metrics import evaluate, mrr_at_k, ndcg_at_k, recall_at_k
from medgo.retrieval.rerank import Scorer, loglikelihood_scorer, rerank
from medgo.retrieval.tokenize import TOKENIZERS, bigram_tokenize, jieba_tokenize

__all__ = [
    "METHODS",
    "TOKENIZERS",
    "Hit",
    "Index",
    "Passage",
    "Scorer",
    "bigram_tokenize",
    "build_index",
    "evaluate",
    "jieba_tokenize",
    "loglikelihood_scorer",
    "mrr_at_k",
    "ndcg_at_k",
    "read_passages",
    "recall_at_k",
    "rerank",
    "rrf",
]
