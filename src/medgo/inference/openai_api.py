"""OpenAI-compatible HTTP backend (vLLM server, llama.cpp server, hosted APIs): requests run concurrently up to
a limit and are retried with exponential backoff on 429, 5xx and connection errors."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from medgo.errors import ConfigError
from medgo.inference.base import Completion, GenerationParams, Prompt

T = TypeVar("T")


def _retryable(e: Exception) -> bool:
    import openai

    if isinstance(e, (openai.APIConnectionError, openai.APITimeoutError)):
        return True
    status = getattr(e, "status_code", None)
    return status is not None and (status == 429 or status >= 500)


class OpenAIEngine:
    name = "openai"

    def __init__(
        self, base_url: str, model: str | None = None, api_key: str | None = None, concurrency: int = 8,
        max_retries: int = 5, backoff_s: float = 1.0, timeout_s: float = 120.0,
    ) -> None:
        import openai

        if not base_url:
            raise ConfigError("the openai backend needs --base-url", hint="e.g. http://localhost:8000/v1")
        # the client's own retries are off: ours count and back off the same way for every call
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key or os.environ.get("OPENAI_API_KEY", "EMPTY"),
                                    max_retries=0, timeout=timeout_s)
        self.model = model or self._first_model()
        self.concurrency, self.max_retries, self.backoff_s = max(1, concurrency), max_retries, backoff_s
        self.retries = 0

    def _first_model(self) -> str:
        models = self._retry(lambda: self.client.models.list().data)
        if not models:
            raise ConfigError("the endpoint serves no model", hint="pass --model NAME")
        return models[0].id

    def _retry(self, fn: Callable[[], T]) -> T:
        for attempt in range(self.max_retries + 1):
            try:
                return fn()
            except Exception as e:  # noqa: BLE001 - re-raised unless retryable
                if attempt == self.max_retries or not _retryable(e):
                    raise
                self.retries += 1
                time.sleep(self.backoff_s * (2**attempt) * (0.5 + random.random() / 2))
        raise AssertionError("unreachable")

    def _kwargs(self, params: GenerationParams) -> dict[str, Any]:
        kw: dict[str, Any] = {"model": self.model, "max_tokens": params.max_new_tokens,
                              "temperature": params.temperature, "top_p": params.top_p, "n": params.n}
        if params.stop:
            kw["stop"] = params.stop
        if params.seed is not None:
            kw["seed"] = params.seed
        return kw

    def _one(self, prompt: Prompt, params: GenerationParams) -> list[Completion]:
        kw = self._kwargs(params)
        if isinstance(prompt, str):
            r = self._retry(lambda: self.client.completions.create(prompt=prompt, **kw))
            texts = [(c.text, c.finish_reason) for c in r.choices]
        else:
            r = self._retry(lambda: self.client.chat.completions.create(messages=prompt, **kw))
            texts = [(c.message.content or "", c.finish_reason) for c in r.choices]
        u = r.usage
        pt, ct = (u.prompt_tokens, u.completion_tokens) if u else (0, 0)
        return [Completion(t, pt, ct // max(len(texts), 1), "length" if f == "length" else "stop") for t, f in texts]

    def generate(self, prompts: list[Prompt], params: GenerationParams) -> list[Completion]:
        with ThreadPoolExecutor(self.concurrency) as pool:
            results = list(pool.map(lambda p: self._one(p, params), prompts))
        return [c for group in results for c in group]

    def loglikelihood(self, requests: list[tuple[Prompt, str]]) -> list[tuple[float, bool]]:
        raise NotImplementedError("OpenAI-compatible chat endpoints give no prompt log-probabilities")

    def stream(self, prompt: Prompt, params: GenerationParams) -> Iterator[str]:
        kw = self._kwargs(params)
        if isinstance(prompt, str):
            for ch in self._retry(lambda: self.client.completions.create(prompt=prompt, stream=True, **kw)):
                if ch.choices and ch.choices[0].text:
                    yield ch.choices[0].text
        else:
            for ch in self._retry(lambda: self.client.chat.completions.create(messages=prompt, stream=True, **kw)):
                if ch.choices and ch.choices[0].delta and ch.choices[0].delta.content:
                    yield ch.choices[0].delta.content
