"""Text-overlap metrics of the official dialogue scorers, on character tokens (whitespace dropped).

- `multi_ref_rouge`: IMCS-V2-MRG's scorer (sumeval `RougeCalculator`, several references per sample): per
  sample, matches summed over references, recall over all reference tokens, precision over
  n_refs x summary tokens, F1; the task score is the mean over samples. The official script first maps each
  character to a vocabulary id (unknown characters all become -1); without that file every character is
  its own token, which differs only where two different out-of-vocabulary characters meet.
- `corpus_bleu`: BLEU-n as in the MedDG paper (corpus-level clipped n-gram precision, geometric mean of
  orders 1..n with equal weights, brevity penalty; no smoothing: a zero precision gives 0)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence


def chars(text: str) -> list[str]:
    return [c for c in (text or "") if not c.isspace()]


def _ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def _f1(matches: int, n_recall: int, n_prec: int) -> float:
    r = matches / n_recall if n_recall else 0.0
    p = matches / n_prec if n_prec else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def lcs(a: Sequence[str], b: Sequence[str]) -> int:
    if len(a) < len(b):
        a, b = b, a
    row = [0] * (len(b) + 1)
    for x in a:
        prev = 0
        for j, y in enumerate(b, 1):
            cur = row[j]
            row[j] = prev + 1 if x == y else max(row[j], row[j - 1])
            prev = cur
    return row[-1]


def sample_rouge(summary: str, refs: Sequence[str]) -> dict[str, float]:
    s = chars(summary)
    rs = [chars(r) for r in refs]
    out = {}
    for n in (1, 2):
        sg = _ngrams(s, n)
        m = sum(sum((sg & _ngrams(r, n)).values()) for r in rs)
        out[f"rouge{n}"] = _f1(m, sum(max(len(r) - n + 1, 0) for r in rs), len(rs) * sum(sg.values()))
    out["rougeL"] = _f1(sum(lcs(r, s) for r in rs), sum(len(r) for r in rs), len(rs) * len(s))
    return out


def multi_ref_rouge(preds: Sequence[str | None], refs: Sequence[Sequence[str]]) -> dict[str, float]:
    """Mean over samples of sample_rouge; a missing prediction (None) scores 0 on that sample."""
    if not refs:
        return {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    tot = Counter()
    for p, r in zip(preds, refs, strict=True):
        tot.update(sample_rouge(p or "", r) if r else {})
    return {k: tot[k] / len(refs) for k in ("rouge1", "rouge2", "rougeL")}


def corpus_bleu(preds: Sequence[str | None], refs: Sequence[str], max_n: int = 4) -> float:
    hyp_len = ref_len = 0
    match, total = [0] * max_n, [0] * max_n
    for p, r in zip(preds, refs, strict=True):
        h, g = chars(p or ""), chars(r)
        hyp_len, ref_len = hyp_len + len(h), ref_len + len(g)
        for n in range(1, max_n + 1):
            hg = _ngrams(h, n)
            match[n - 1] += sum((hg & _ngrams(g, n)).values())
            total[n - 1] += sum(hg.values())
    if hyp_len == 0 or any(m == 0 for m in match):
        return 0.0
    log_p = sum(math.log(m / t) for m, t in zip(match, total, strict=True)) / max_n
    bp = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return bp * math.exp(log_p)
