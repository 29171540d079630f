"""Metrics shared by every suite: each matches a named official scorer (see the function docstrings)."""

from medgo.eval.metrics.classification import accuracy, macro_prf, promptcblue_cls
from medgo.eval.metrics.prf import prf, set_micro_prf
from medgo.eval.metrics.ranking import mean_mrr_at_k
from medgo.eval.metrics.seq import bio_chunks, bio_micro_prf

__all__ = [
    "accuracy", "bio_chunks", "bio_micro_prf", "macro_prf", "mean_mrr_at_k", "prf", "promptcblue_cls", "set_micro_prf",
]
