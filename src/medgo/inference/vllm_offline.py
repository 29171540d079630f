"""vLLM backend (GPU): offline batched generation and prompt log-probabilities. `vllm` is imported lazily so the
rest of medgo works without it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from medgo.errors import ConfigError
from medgo.inference.base import Completion, GenerationParams, Prompt


def _import_vllm():
    try:
        import vllm
    except ImportError:
        raise ConfigError("the vllm backend needs the vllm package", hint="pip install 'medgo[gpu]' on a GPU machine, "
                          "or use --backend hf") from None
    return vllm


class VLLMEngine:
    name = "vllm"

    def __init__(self, model: str | Path, dtype: str = "auto", max_model_len: int | None = None, **kw) -> None:
        vllm = _import_vllm()
        self._vllm = vllm
        self.llm = vllm.LLM(model=str(model), dtype=dtype, max_model_len=max_model_len, **kw)
        self.tok = self.llm.get_tokenizer()

    def render(self, prompt: Prompt) -> str:
        if isinstance(prompt, str):
            return prompt
        return self.tok.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)

    def _sampling(self, params: GenerationParams, **extra):
        return self._vllm.SamplingParams(
            max_tokens=params.max_new_tokens, temperature=params.temperature, top_p=params.top_p,
            stop=params.stop or None, seed=params.seed, n=params.n, **extra,
        )

    def generate(self, prompts: list[Prompt], params: GenerationParams) -> list[Completion]:
        outs = self.llm.generate([self.render(p) for p in prompts], self._sampling(params), use_tqdm=False)
        res = []
        for o in outs:
            for c in o.outputs:
                res.append(Completion(c.text, len(o.prompt_token_ids), len(c.token_ids),
                                      "length" if c.finish_reason == "length" else "stop"))
        return res

    def loglikelihood(self, requests: list[tuple[Prompt, str]]) -> list[tuple[float, bool]]:
        texts, n_cont = [], []
        for ctx, cont in requests:
            c_ids = self.tok.encode(self.render(ctx), add_special_tokens=False)
            x_ids = self.tok.encode(cont, add_special_tokens=False)
            texts.append({"prompt_token_ids": c_ids + x_ids})
            n_cont.append(len(x_ids))
        sp = self._vllm.SamplingParams(max_tokens=1, prompt_logprobs=1, temperature=0.0)
        outs = self.llm.generate(texts, sp, use_tqdm=False)
        res = []
        for o, k in zip(outs, n_cont, strict=True):
            ids, lps = o.prompt_token_ids, o.prompt_logprobs
            total, greedy = 0.0, True
            for pos in range(len(ids) - k, len(ids)):
                cand = lps[pos]
                total += cand[ids[pos]].logprob
                greedy &= max(cand.items(), key=lambda kv: kv[1].logprob)[0] == ids[pos]
            res.append((total, greedy))
        return res

    def stream(self, prompt: Prompt, params: GenerationParams) -> Iterator[str]:
        yield self.generate([prompt], params)[0].text  # offline engine: one piece
