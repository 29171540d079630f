"""N sampled answers per prompt from any Engine, for preference pairs ranked by a scorer
(`medgo data sample-answers`, then `medgo data build-pref --mode sampled`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from medgo.inference.base import Engine, GenerationParams


def sample_answers(
    engine: Engine, rows: Iterable[dict[str, Any]], n: int, params: GenerationParams, batch: int = 16
) -> Iterator[dict[str, Any]]:
    """Each row (with `prompt` or `question`, optional `reference`) gains `answers`: n samples."""
    params = GenerationParams(**{**params.__dict__, "n": n})
    buf: list[dict[str, Any]] = []

    def flush() -> Iterator[dict[str, Any]]:
        prompts = [[{"role": "user", "content": r.get("prompt") or r["question"]}] for r in buf]
        outs = engine.generate(prompts, params)
        for i, r in enumerate(buf):
            yield {**r, "answers": [o.text for o in outs[i * n : (i + 1) * n]]}
        buf.clear()

    for row in rows:
        buf.append(row)
        if len(buf) >= batch:
            yield from flush()
    if buf:
        yield from flush()
