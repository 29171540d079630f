"""An OpenAI-compatible engine process behind medgo's own front: vLLM (any tensor-parallel size), llama.cpp's
server, SGLang, or any URL. medgo keeps auth, per-key limits, prompt limits, the audit log, metrics, RAG,
the clinical endpoint and the web page; the upstream only decodes.

The gateway renders and tokenizes with the model's own tokenizer (prompt limits and token counts are the
gateway's), sends the rendered text to the upstream's /v1/completions with `stream: true`, and relays the
pieces into the same RequestStream the in-process engines fill. A client that disconnects cancels the
stream, and closing the upstream connection makes vLLM and llama.cpp abort the sequence. Structured
outputs go through in the upstream's own request fields (vLLM `structured_outputs`, llama.cpp `grammar` or
`json_schema`); a generic upstream gets none, and the clinical endpoint falls back to parse and repair."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from medgo.errors import MedgoError
from medgo.inference.base import GenerationParams, Prompt, render_prompt
from medgo.inference.streams import Finished, Piece, QueueFull, RequestStream

log = logging.getLogger(__name__)

FLAVORS = ("openai", "vllm", "llamacpp", "llama-server", "sglang")
TOOL_OPEN, TOOL_CLOSE = "<tool_call>\n", "\n</tool_call>"


class EngineProcess:
    """A supervised engine server on a private loopback port: started, waited for, stopped with its group."""

    def __init__(self, argv: list[str], url: str, api_key: str | None = None, startup_timeout_s: float = 900.0,
                 log_file: Path | None = None) -> None:
        self.argv, self.url, self.api_key = argv, url, api_key
        self.startup_timeout_s = startup_timeout_s
        self.log_file = log_file
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        import httpx

        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        log.info("starting engine process: %s", " ".join(self.argv))
        self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise MedgoError(f"the engine process exited with code {self.proc.returncode} while starting",
                                 hint=f"its output: {self.log_file}" if self.log_file else " ".join(self.argv))
            try:
                if httpx.get(self.url + "/v1/models", headers=headers, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise MedgoError(f"the engine process did not answer on {self.url} in {self.startup_timeout_s:g}s")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(5)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def private_key() -> str:
    """A key only the gateway knows: nothing else on the host can reach the engine around medgo."""
    return "medgo-internal-" + secrets.token_hex(16)


def llamacpp_process(gguf: Path, *, threads: int | None = None, n_ctx: int = 0, log_file: Path | None = None
                     ) -> EngineProcess:
    import sys

    port, key = free_port(), private_key()
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
            "--port", str(port), "--api_key", key, "--n_ctx", str(n_ctx or 4096),
            # its default lets a new request cut off the one streaming now; queue them instead
            "--interrupt_requests", "False"]
    if threads:
        argv += ["--n_threads", str(threads), "--n_threads_batch", str(threads)]
    return EngineProcess(argv, f"http://127.0.0.1:{port}", key, log_file=log_file)


def sglang_process(model_dir: Path, *, tensor_parallel: int = 1, log_file: Path | None = None) -> EngineProcess:
    """SGLang's OpenAI server for a model folder, on a private port with a private key."""
    import sys

    port, key = free_port(), private_key()
    argv = [sys.executable, "-m", "sglang.launch_server", "--model-path", str(model_dir), "--host", "127.0.0.1",
            "--port", str(port), "--api-key", key, "--tp-size", str(tensor_parallel)]
    return EngineProcess(argv, f"http://127.0.0.1:{port}", key, log_file=log_file)


def _gbnf(schema: dict) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    return json_schema_to_gbnf(json.dumps(schema))


class UpstreamEngine:
    """A ServingEngine whose decoding happens in an OpenAI-compatible server."""

    name = "upstream"

    def __init__(self, base_url: str, tokenizer: Any, *, model: str | None = None, api_key: str | None = None,
                 flavor: str = "openai", max_context: int = 4096, max_queue: int = 256,
                 process: EngineProcess | None = None, timeout_s: float = 600.0) -> None:
        if flavor not in FLAVORS:
            raise MedgoError(f"unknown upstream flavor {flavor!r}", hint=", ".join(FLAVORS))
        self.base_url = base_url.rstrip("/")
        if self.base_url.endswith("/v1"):
            self.base_url = self.base_url[:-3]
        self.tok = tokenizer
        self.model = model
        self.api_key = api_key
        self.flavor = flavor
        self.name = f"upstream:{flavor}"
        self.max_context = max_context
        self.max_queue = max_queue
        self.process = process
        self.timeout_s = timeout_s
        self.supports_constraints = flavor in ("vllm", "llamacpp", "llama-server", "sglang")
        # llama-cpp-python's server computes logprobs only when started with logits_all (off by default)
        self.supports_logprobs = flavor != "llamacpp"
        self._client = None
        self._inflight = 0
        self._tasks: set[asyncio.Task] = set()
        self.on_batch = None

    # -- ServingEngine -------------------------------------------------------------------------------
    def render(self, prompt: Prompt) -> str:
        return render_prompt(self.tok, prompt)

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False)

    def decode(self, ids: list[int]) -> str:
        return self.tok.decode(ids, skip_special_tokens=False)

    def queue_depth(self) -> int:
        return self._inflight

    def start(self) -> None:
        if self.process is not None and not self.process.alive():
            self.process.start()
        if self.model is None:
            self.model = self._first_model()

    def shutdown(self, timeout: float = 10.0) -> None:
        if self.process is not None:
            self.process.stop(timeout)

    def healthy(self) -> bool:
        return self.process is None or self.process.alive()

    def submit(self, prompt_ids: list[int], params: GenerationParams, group: str, index: int = 0) -> RequestStream:
        if self.process is not None and not self.process.alive():
            raise QueueFull("the engine process is not running")
        if self._inflight >= self.max_queue:
            raise QueueFull(f"{self._inflight} sequences are already in flight")
        loop = asyncio.get_running_loop()
        stream = RequestStream(loop)
        self._inflight += 1
        task = loop.create_task(self._run(stream, prompt_ids, params, index))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return stream

    def score_prompt(self, ids: list[int], top: int) -> list[dict]:
        """Prompt-token log-probabilities from the upstream (echo + logprobs on /v1/completions with token
        ids: vLLM, SGLang, another medgo): the prompt's entries, then the generated token's."""
        if not self.supports_logprobs:
            raise MedgoError(f"the {self.flavor} upstream does not report logprobs")
        import httpx

        body = {"prompt": ids, "max_tokens": 1, "temperature": 0, "echo": True, "logprobs": max(top, 1)}
        if self.model:
            body["model"] = self.model
        r = httpx.post(self.base_url + "/v1/completions", json=body, headers=self._headers(), timeout=self.timeout_s)
        r.raise_for_status()
        entries = _entries(r.json()["choices"][0]["logprobs"])
        if entries:
            entries[0]["logprob"], entries[0]["top_logprobs"] = None, None
        for e in entries[1:]:
            e["top_logprobs"] = e["top_logprobs"][:top]
        return entries

    # -- the request ---------------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def _first_model(self) -> str | None:
        import httpx

        try:
            r = httpx.get(self.base_url + "/v1/models", headers=self._headers(), timeout=10)
            data = r.json().get("data") or []
            return data[0]["id"] if data else None
        except (httpx.HTTPError, ValueError, KeyError):
            return None

    def payload(self, prompt_ids: list[int], params: GenerationParams, index: int) -> dict:
        body: dict[str, Any] = {
            "prompt": self.decode(prompt_ids),
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "stream": True,
        }
        if self.model:
            body["model"] = self.model
        if params.stop:
            body["stop"] = params.stop
        if params.seed is not None:
            body["seed"] = params.seed * 1_000_003 + index
        if params.logprobs is not None:
            body["logprobs"] = max(params.logprobs, 1)
        if self.flavor in ("vllm", "sglang"):
            body["stream_options"] = {"include_usage": True}
        c = params.constraint
        if c is not None:
            body.update(self._constraint_fields(c))
            if c["type"] == "tool_call":
                body["prompt"] += TOOL_OPEN
        return body

    def _constraint_fields(self, c: dict) -> dict:
        """The JSON schema in the upstream's own field. A forced tool call constrains only its JSON: the
        prompt ends with `<tool_call>\\n` and the engine writes the closing tag itself."""
        schema = {"type": "object"} if c["type"] == "json_object" else c["schema"]
        if self.flavor == "vllm":
            return {"structured_outputs": {"json": schema}}
        if self.flavor == "sglang":
            return {"json_schema": json.dumps(schema)}
        if self.flavor == "llama-server":
            return {"json_schema": schema}
        if self.flavor == "llamacpp":
            return {"grammar": _gbnf(schema)}
        raise MedgoError("this upstream cannot constrain decoding")

    async def _run(self, stream: RequestStream, prompt_ids: list[int], params: GenerationParams,
                   index: int) -> None:
        import httpx

        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(self.timeout_s, connect=10.0),
                                             limits=httpx.Limits(max_connections=None, max_keepalive_connections=64))
        body = self.payload(prompt_ids, params, index)
        text, reason, completion, entries = [], "length", None, []
        me = asyncio.current_task()
        # A client that goes away cancels its stream on the event loop: that cancels this task at once, which
        # closes the upstream connection (vLLM and llama.cpp then drop the sequence). No polling.
        stream.on_cancel = lambda: me.cancel() if me is not None and not me.done() else None
        try:
            if stream.cancelled.is_set():
                raise asyncio.CancelledError
            async with self._client.stream("POST", self.base_url + "/v1/completions", json=body,
                                           headers=self._headers()) as r:
                if r.status_code != 200:
                    detail = (await r.aread())[:300].decode("utf-8", "replace")
                    log.error("upstream answered %d: %s", r.status_code, detail)
                    stream.fail(RuntimeError(f"upstream error {r.status_code}"))
                    return
                tool = params.constraint is not None and params.constraint["type"] == "tool_call"
                if tool:
                    text.append(TOOL_OPEN)
                    stream.piece(TOOL_OPEN)
                reason, completion = await self._relay(r, stream, text, entries)
                if tool:
                    text.append(TOOL_CLOSE)
                    stream.piece(TOOL_CLOSE)
        except asyncio.CancelledError:
            reason = "cancelled"
        except (httpx.HTTPError, OSError) as e:
            log.error("upstream request failed: %s", type(e).__name__)
            stream.fail(RuntimeError("upstream unreachable"))
            return
        finally:
            stream.on_cancel = None
            self._inflight -= 1
        out = "".join(text)
        if completion is None:
            completion = len(self.encode(out)) if out else 0
        lps = entries if params.logprobs is not None else None
        stream.finish(Finished(reason, len(prompt_ids), completion, lps, params.constraint is not None))

    async def _relay(self, r, stream: RequestStream, text: list[str], entries: list[dict]) -> tuple[str, int | None]:
        """Pieces into the stream; (finish reason, completion tokens: the upstream's usage, else one per
        streamed chunk with text, as llama.cpp streams a token a chunk)."""
        reason, completion, chunks = "length", None, 0
        buf = b""
        async for raw in r.aiter_bytes():  # SSE lines split here: cheaper than httpx's text line iterator
            buf += raw
            *events, buf = buf.split(b"\n")
            done = False
            for line in events:
                if not line.startswith(b"data:"):
                    continue
                data = line[5:].strip()
                if data == b"[DONE]":
                    done = True
                    break
                try:
                    chunk = json.loads(data)
                except json.JSONDecodeError:
                    continue
                reason, completion, chunks = self._chunk(chunk, stream, text, entries, reason, completion, chunks)
            if done:
                break
        return reason, completion if completion is not None else chunks

    @staticmethod
    def _chunk(chunk: dict, stream: RequestStream, text: list[str], entries: list[dict], reason: str,
               completion: int | None, chunks: int) -> tuple[str, int | None, int]:
        """One upstream SSE event: its text into the stream; (reason, completion tokens, text chunks)."""
        usage = chunk.get("usage")
        if usage and usage.get("completion_tokens") is not None:
            completion = int(usage["completion_tokens"])
        for ch in chunk.get("choices") or []:
            piece = ch.get("text") or ""
            lp = ch.get("logprobs")
            new = _entries(lp) if lp else []
            entries += new
            if piece:
                chunks += 1
                text.append(piece)
                stream._push(Piece(piece, new) if new else piece)  # on the loop already: no thread hop
            if ch.get("finish_reason"):
                reason = "stop" if ch["finish_reason"] in ("stop", "eos") else ch["finish_reason"]
        return reason, completion, chunks


def _entries(lp: dict) -> list[dict]:
    """Legacy completions logprobs (tokens / token_logprobs / top_logprobs) → medgo's entries."""
    out = []
    tops = lp.get("top_logprobs") or []
    for i, (tok, val) in enumerate(zip(lp.get("tokens") or [], lp.get("token_logprobs") or [], strict=False)):
        top = tops[i] if i < len(tops) and tops[i] else {}
        top = dict(sorted(top.items(), key=lambda kv: -kv[1]))  # most likely first, as medgo's own entries
        out.append({
            "token": tok,
            "logprob": val,
            "bytes": list(tok.encode("utf-8")),
            "top_logprobs": [{"token": t, "logprob": v, "bytes": list(t.encode("utf-8"))} for t, v in top.items()],
        })
    return out
