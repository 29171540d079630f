"""llama.cpp engine for CPU deployments of a GGUF file (llama-cpp-python). One sequence at a time behind
the same request queue as the transformers engine; the chat template comes from the GGUF metadata."""

from __future__ import annotations

from pathlib import Path

from medgo.errors import MedgoError
from medgo.inference.base import Prompt
from medgo.inference.streams import Finished, IncrementalDecoder
from medgo.inference.worker import QueueWorker, Slot


def _import_llama():
    try:
        from llama_cpp import Llama
    except ImportError:
        raise MedgoError(
            "the llama.cpp engine needs llama-cpp-python, which is not installed",
            hint="pip install llama-cpp-python (builds llama.cpp: needs cmake and a C++ compiler)",
        ) from None
    return Llama


class LlamaCppEngine(QueueWorker):
    name = "llamacpp"

    def __init__(self, llm, **queue_kw) -> None:
        queue_kw["max_batch"] = 1  # llama-cpp-python's high-level API decodes one sequence at a time
        super().__init__(**queue_kw)
        self.llm = llm
        self.max_context = llm.n_ctx()
        meta = llm.metadata
        self._template = meta.get("tokenizer.chat_template")
        self._stop_ids = {llm.token_eos()}
        eot = meta.get("tokenizer.ggml.eot_token_id")
        if eot is not None:
            self._stop_ids.add(int(eot))

    @classmethod
    def from_path(
        cls, path: str | Path, threads: int | None = None, n_ctx: int = 0, **queue_kw
    ) -> LlamaCppEngine:
        Llama = _import_llama()
        if not Path(path).is_file():
            raise MedgoError(
                f"{path} is not a GGUF file", hint="create one with `medgo export RUN_DIR --gguf`"
            )
        # n_threads_batch too: left at its default (all cores) prompt processing spins on a busy CPU.
        llm = Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=threads,
            verbose=False,
            seed=0,
        )
        return cls(llm, **queue_kw)

    def render(self, prompt: Prompt) -> str:
        if isinstance(prompt, str):
            return prompt
        if not self._template:
            raise MedgoError("this GGUF file has no chat template (tokenizer.chat_template)")
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        env.globals["raise_exception"] = lambda msg: (_ for _ in ()).throw(ValueError(msg))
        # {% generation %} marks assistant spans for training; jinja2 itself does not know it.
        template = self._template.replace("{% generation %}", "").replace("{% endgeneration %}", "")
        return env.from_string(template).render(messages=prompt, add_generation_prompt=True)

    def encode(self, text: str) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def _decode(self, ids: list[int]) -> str:
        return self.llm.detokenize(ids).decode("utf-8", errors="replace")

    def shutdown(self, timeout: float = 10.0) -> None:
        super().shutdown(timeout)
        self.llm.close()  # free the model now, not in a finalizer at interpreter exit

    def run_batch(self, slots: list[Slot]) -> None:
        for s in slots:
            self._run_one(s)

    def _run_one(self, s: Slot) -> None:
        p = s.params
        if p.seed is not None:
            self.llm.set_seed(p.seed)
        dec = IncrementalDecoder(self._decode, p.stop)
        reason = "length"
        self.llm.reset()
        for t in self.llm.generate(
            s.prompt_ids, temp=p.temperature, top_p=p.top_p, top_k=0 if p.temperature else 1, reset=True
        ):
            if s.stream.cancelled.is_set():
                reason = "cancelled"
                break
            if t in self._stop_ids:
                reason = "stop"
                s.stream.piece(dec.flush())
                break
            s.tokens.append(t)
            text, hit = dec.feed(t)
            s.stream.piece(text)
            if hit:
                reason = "stop"
                break
            if len(s.tokens) >= p.max_new_tokens:
                s.stream.piece(dec.flush())
                break
        s.done = True
        s.stream.finish(Finished(reason, len(s.prompt_ids), len(s.tokens)))
