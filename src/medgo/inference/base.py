"""One interface for every model backend: evaluation and serving use the same engine objects."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

Messages = list[dict[str, str]]
Prompt = str | Messages  # raw text, or chat messages rendered with the model's chat template


@dataclass
class GenerationParams:
    max_new_tokens: int = 256
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    n: int = 1
    # serving extensions (engines that do not know them leave them alone)
    constraint: dict | None = None  # grammar-constrained decoding: see medgo.inference.constrained
    logprobs: int | None = None  # None: none; 0: each chosen token's log-probability; k: and the top k


@dataclass
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # "stop" | "length"
    logprobs: list[dict] | None = None  # per generated token, when GenerationParams.logprobs was set


@runtime_checkable
class Engine(Protocol):
    name: str

    def generate(self, prompts: list[Prompt], params: GenerationParams) -> list[Completion]:
        """One completion per prompt (params.n > 1: n consecutive completions per prompt)."""
        ...

    def loglikelihood(self, requests: list[tuple[Prompt, str]]) -> list[tuple[float, bool]]:
        """Sum log p(continuation | context), and whether greedy decoding would produce the continuation."""
        ...

    def stream(self, prompt: Prompt, params: GenerationParams) -> Iterator[str]:
        """Text pieces as they are generated."""
        ...


def render_prompt(tokenizer: Any, prompt: Prompt) -> str:
    """Raw text as it is; chat messages through the tokenizer's chat template, ending with the assistant header."""
    if isinstance(prompt, str):
        return prompt
    return tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
