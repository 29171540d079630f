"""Sampling one token of one row: temperature and nucleus (top-p) as transformers' warpers do it, with a
generator per seeded request. Shared by the static and the continuous transformers engines."""

from __future__ import annotations

import torch

from medgo.inference.base import GenerationParams
from medgo.inference.worker import Slot


def draw(logits: torch.Tensor, params: GenerationParams, gen: torch.Generator | None) -> int:
    """Temperature then nucleus (top-p) sampling of one row, as transformers' warpers do it."""
    probs = torch.softmax(logits.float() / params.temperature, -1)
    if params.top_p < 1.0:
        p, idx = probs.sort(descending=True)
        p[(p.cumsum(0) - p) >= params.top_p] = 0  # keeps the smallest head with mass >= top_p (>= 1 token)
        return int(idx[torch.multinomial(p, 1, generator=gen)])
    return int(torch.multinomial(probs, 1, generator=gen))


def seeded_generator(s: Slot, device: torch.device) -> torch.Generator | None:
    """Seeded requests sample from their own generator (copy k of n gets its own stream), so the same seed
    gives the same answer whatever else shares the batch."""
    if s.params.temperature <= 0 or s.params.seed is None:
        return None
    return torch.Generator(device=device).manual_seed(s.params.seed * 1_000_003 + s.index)
