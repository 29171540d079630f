"""Retrieval-augmented prompts: passages from a `medgo index` folder go into the prompt with numbered ids,
and the response lists the sources it was given (`sources: [{id, title, score}]`).

The index's own method is used: a hybrid index (`medgo index build --dense e5-small`) fuses BM25 and e5
(score = the fused score, higher is better), so a question worded unlike its passage still finds it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

MAX_PASSAGE_CHARS = 400  # keeps k passages inside a small model's context


class Source(BaseModel):
    id: str
    title: str | None = None
    score: float


class Retriever:
    def __init__(self, index_dir: Path, top_k: int, default_on: bool) -> None:
        from medgo.retrieval import Index

        self.index = Index.load(index_dir)
        if self.index.dense is not None:  # load the encoder at start-up, not on the first request
            self.index.dense.encode_queries(["预热"])
        self.top_k = top_k
        self.default_on = default_on

    def wanted(self, flag: bool | None) -> bool:
        return self.default_on if flag is None else flag

    def search(self, query: str) -> list[Any]:
        return self.index.search(query, self.top_k) if query.strip() else []


def context_message(hits: list[Any]) -> dict[str, str]:
    parts = []
    for i, h in enumerate(hits, start=1):
        title = f"{h.title}：" if getattr(h, "title", None) else ""
        parts.append(f"[{i}] {title}{h.text[:MAX_PASSAGE_CHARS]}")
    return {
        "role": "system",
        "content": "以下参考资料可能与问题相关，回答时如引用请用[编号]标注，资料不相关时不要使用：\n" + "\n".join(parts),
    }


def augment(messages: list[dict[str, str]], hits: list[Any]) -> list[dict[str, str]]:
    """The passages as a system message right before the last user turn (after any system prompt)."""
    if not hits:
        return messages
    return [*messages[:-1], context_message(hits), messages[-1]]


def sources(hits: list[Any]) -> list[dict[str, Any]]:
    return [Source(id=str(h.id), title=h.title, score=float(h.score)).model_dump() for h in hits]
