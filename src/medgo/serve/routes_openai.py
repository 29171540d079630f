"""OpenAI-compatible routes: /v1/models, /v1/chat/completions and /v1/completions (SSE streaming or not),
with structured outputs (`response_format`), `logprobs`, `echo`, tools and `n`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from medgo.inference.base import GenerationParams
from medgo.inference.streams import Finished, Piece, RequestStream
from medgo.serve.errors import APIError
from medgo.serve.protocol import ChatCompletionRequest, CompletionRequest, _SamplingRequest, new_id, now
from medgo.serve.state import Caller, ServerState, authorize, state_of
from medgo.serve.tools import ToolStream, check_tools, forced_constraint, parse_tool_calls, plain_messages

router = APIRouter(prefix="/v1")


@router.get("/models")
async def models(request: Request, caller: Caller = Depends(authorize)) -> dict:
    st = state_of(request)
    return {
        "object": "list",
        "data": [{"id": st.model_name, "object": "model", "created": now(), "owned_by": "medgo"}],
    }


def _params(st: ServerState, req: _SamplingRequest, prompt_len: int, **extra: Any) -> GenerationParams:
    asked = req.max_completion_tokens or req.max_tokens
    return GenerationParams(
        max_new_tokens=st.max_new_tokens(asked, prompt_len),
        temperature=req.temperature,
        top_p=req.top_p,
        stop=req.stop_list(),
        seed=req.seed,
        **extra,
    )


def _refuse_unsupported(body: _SamplingRequest) -> None:
    bad = body.unsupported()
    if bad is not None:
        raise APIError(400, f"unsupported parameter: {bad!r} (medgo does not implement it)", param=bad,
                       code="unsupported_parameter")


def response_constraint(st: ServerState, rf: dict | None) -> dict | None:
    """`response_format` → a decoding constraint (None for plain text)."""
    if rf is None or rf.get("type") == "text":
        return None
    kind = rf.get("type")
    if kind == "json_object":
        spec: dict = {"type": "json_object"}
    elif kind == "json_schema":
        js = rf.get("json_schema")
        schema = js.get("schema") if isinstance(js, dict) else None
        if not isinstance(schema, dict):
            raise APIError(400, "response_format json_schema needs json_schema.schema (an object)",
                           param="response_format.json_schema.schema")
        spec = {"type": "json_schema", "schema": schema}
    else:
        raise APIError(400, f"response_format type {kind!r} is not supported (text, json_object, json_schema)",
                       param="response_format.type")
    check_constraint_for(st, spec, "response_format")
    return spec


def check_logprobs_for(st: ServerState, top: int | None) -> None:
    if top is not None and not getattr(st.engine, "supports_logprobs", True):
        raise APIError(400, f"the {st.engine.name} engine does not report logprobs", param="logprobs",
                       code="unsupported_parameter")


def check_constraint_for(st: ServerState, spec: dict, param: str) -> None:
    if not st.supports_constraints:
        raise APIError(400, f"the {st.engine.name} engine cannot constrain decoding", param=param,
                       code="unsupported_parameter")
    from medgo.inference.constrained import check_constraint

    try:
        check_constraint(spec)
    except ValueError as e:
        raise APIError(400, str(e), param=param) from None


def retrieve_for(
    st: ServerState, flag: bool | None, query: str, messages: list[dict]
) -> tuple[list[dict], list[dict] | None]:
    """Passages for `query` put into `messages` when retrieval is on for this request."""
    if st.retriever is None:
        if flag:
            raise APIError(400, "this server has no retrieval index (start it with --index DIR)", param="rag")
        return messages, None
    if not st.retriever.wanted(flag):
        return messages, None
    from medgo.serve.rag import augment, sources

    hits = st.retriever.search(query)
    return augment(messages, hits), sources(hits)


@router.post("/chat/completions")
async def chat_completions(
    body: ChatCompletionRequest, request: Request, caller: Caller = Depends(authorize)
):
    st = state_of(request)
    _refuse_unsupported(body)
    check_tools(body.tools, body.tool_choice)
    if body.top_logprobs is not None and not body.logprobs:
        raise APIError(400, "top_logprobs needs logprobs: true", param="top_logprobs")
    tools = body.tools if body.tool_choice != "none" else None
    messages = plain_messages([m.model_dump(exclude_none=True) for m in body.messages], tools)
    users = [m["content"] for m in messages if m["role"] == "user"]
    query = users[-1] if users else messages[-1]["content"]
    messages, found = retrieve_for(st, body.rag, query, messages)
    constraint = forced_constraint(tools, body.tool_choice)
    if constraint is not None:
        check_constraint_for(st, constraint, "tool_choice")
    else:
        constraint = response_constraint(st, body.response_format)
    ids = st.tokenize(messages)
    top = (body.top_logprobs or 0) if body.logprobs else None
    check_logprobs_for(st, top)
    params = _params(st, body, len(ids), constraint=constraint, logprobs=top)
    streams = st.submit(ids, params, body.n, caller.request_id)
    job = _Job(st, caller, "/v1/chat/completions", "chat.completion", [streams], [len(ids)], body,
               prompt_text=query)
    job.sources = found
    job.tools = bool(tools)
    job.logprobs = top is not None
    if body.stream:
        return _sse(job.stream_chunks())
    return await job.complete()


@router.post("/completions")
async def completions(body: CompletionRequest, request: Request, caller: Caller = Depends(authorize)):
    st = state_of(request)
    _refuse_unsupported(body)
    p = body.prompt
    if isinstance(p, str):
        prompts: list = [p]
    elif p and all(isinstance(x, int) for x in p):
        prompts = [p]  # one prompt given as token ids
    else:
        prompts = list(p)
    if not prompts or len(prompts) > 64:
        raise APIError(422, "prompt must be a string, token ids, or a list of 1 to 64 of them", param="prompt")
    ids = [st.tokenize(x) if isinstance(x, str) else st.check_ids(x) for x in prompts]
    texts = [x if isinstance(x, str) else st.detokenize(x) for x in prompts]
    constraint = response_constraint(st, body.response_format)
    top = body.logprobs
    check_logprobs_for(st, top)
    prompt_lps: list[list[dict]] | None = None
    if body.echo and top is not None:
        score = getattr(st.engine, "score_prompt", None)
        if score is None:
            raise APIError(400, f"the {st.engine.name} engine cannot score prompts (echo with logprobs)",
                           param="echo", code="unsupported_parameter")
        prompt_lps = [await asyncio.to_thread(score, x, top) for x in ids]
    params = [_params(st, body, len(x), constraint=constraint, logprobs=top) for x in ids]
    groups: list[list[RequestStream]] = []
    try:
        for x, pp in zip(ids, params, strict=True):
            groups.append(st.submit(x, pp, body.n, caller.request_id))
    except APIError:
        for g in groups:
            for s in g:
                s.cancel()
        raise
    job = _Job(st, caller, "/v1/completions", "text_completion", groups, [len(x) for x in ids], body,
               prompt_text=texts[0])
    job.logprobs = top is not None
    if body.echo:
        job.echo = [t for t in texts for _ in range(body.n)]
        if prompt_lps is not None:
            job.prompt_logprobs = [lp for lp in prompt_lps for _ in range(body.n)]
    if body.stream:
        return _sse(job.stream_chunks())
    return await job.complete()


def _sse(chunks: AsyncIterator[dict | str]) -> StreamingResponse:
    async def encode() -> AsyncIterator[str]:
        async for c in chunks:
            yield f"data: {c if isinstance(c, str) else json.dumps(c, ensure_ascii=False)}\n\n"

    return StreamingResponse(
        encode(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _chat_entries(entries: list[dict]) -> list[dict]:
    def one(e: dict) -> dict:
        return {"token": e["token"], "logprob": e["logprob"], "bytes": e["bytes"]}

    return [{**one(e), "top_logprobs": [one(t) for t in e.get("top_logprobs") or []]} for e in entries]


def _completion_logprobs(entries: list[dict], offset: int = 0) -> dict:
    tokens, lps, tops, offs = [], [], [], []
    for e in entries:
        tokens.append(e["token"])
        lps.append(e["logprob"])
        t = e.get("top_logprobs")
        tops.append(None if t is None else {x["token"]: x["logprob"] for x in t})
        offs.append(offset)
        offset += len(e["token"])
    return {"tokens": tokens, "token_logprobs": lps, "top_logprobs": tops, "text_offset": offs}


class _Job:
    """One API request's sequences: choice index = prompt index * n + sample index."""

    def __init__(
        self,
        st: ServerState,
        caller: Caller,
        route: str,
        kind: str,
        groups: list[list[RequestStream]],
        prompt_lens: list[int],
        body: _SamplingRequest,
        prompt_text: str,
    ) -> None:
        self.st, self.caller, self.route, self.kind = st, caller, route, kind
        self.streams = [s for g in groups for s in g]
        self.prompt_tokens = sum(prompt_lens)
        self.body = body
        self.prompt_text = prompt_text
        self.id = new_id("chatcmpl" if kind == "chat.completion" else "cmpl")
        self.created = now()
        self.deadline = st.settings.request_timeout_s
        self._templates: dict[int, str] = {}
        self.sources: list[dict] | None = None  # retrieval-augmented requests list what the prompt was given
        self.tools = False  # parse <tool_call> blocks into tool_calls
        self.logprobs = False
        self.echo: list[str] | None = None  # completions: the prompt text per choice
        self.prompt_logprobs: list[list[dict]] | None = None  # completions echo + logprobs, per choice

    def usage(self, completion: int) -> dict:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
        }

    def cancel(self) -> None:
        for s in self.streams:
            s.cancel()

    def _record(self, status: int, completion: int, answer: str) -> None:
        lat = self.caller.elapsed()
        self.st.metrics.observe(self.route, status, lat, self.prompt_tokens, completion)
        self.st.audit.write(
            key_id=self.caller.key_id,
            route=self.route,
            status=status,
            latency_s=lat,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=completion,
            request_id=self.caller.request_id,
            prompt=self.prompt_text,
            response=answer,
        )

    async def complete(self) -> dict:
        try:
            results = await asyncio.wait_for(
                asyncio.gather(*(s.collect() for s in self.streams)), self.deadline
            )
        except TimeoutError:
            self.cancel()
            self._record(504, 0, "")
            raise APIError(
                504, f"generation took longer than {self.deadline:g}s", "timeout", code="timeout"
            ) from None
        except asyncio.CancelledError:
            self.cancel()
            raise
        except RuntimeError:
            self._record(500, 0, "")
            raise APIError(500, "generation failed", "server_error", code="generation_failed") from None
        choices = []
        for i, (text, fin) in enumerate(results):
            c: dict = {"index": i, "finish_reason": fin.finish_reason, "logprobs": None}
            if self.kind == "chat.completion":
                msg: dict = {"role": "assistant", "content": text}
                if self.tools:
                    content, calls = parse_tool_calls(text)
                    if calls:
                        msg = {"role": "assistant", "content": content, "tool_calls": calls}
                        c["finish_reason"] = "tool_calls"
                c["message"] = msg
                if self.logprobs:
                    c["logprobs"] = {"content": _chat_entries(fin.logprobs or []), "refusal": None}
            else:
                c["text"] = (self.echo[i] + text) if self.echo else text
                if self.logprobs:
                    entries = list(fin.logprobs or [])
                    offset = 0
                    if self.prompt_logprobs is not None:
                        plp = self.prompt_logprobs[i]
                        if not entries and fin.finish_reason == "stop":
                            entries = [plp[-1]]  # the one token generated was the stop token: report it
                        entries = plp[:-1] + entries
                    elif self.echo:
                        offset = len(self.echo[i])
                    c["logprobs"] = _completion_logprobs(entries, offset)
            choices.append(c)
        completion = sum(f.completion_tokens for _, f in results)
        self._record(200, completion, results[0][0])
        return {
            "id": self.id,
            "object": self.kind,
            "created": self.created,
            "model": self.st.model_name,
            "choices": choices,
            "usage": self.usage(completion),
            **({"sources": self.sources} if self.sources is not None else {}),
        }

    def _text_chunk(self, index: int, text: str) -> str:
        """The hot path of streaming: a cached JSON template per choice, only the text is encoded."""
        tpl = self._templates.get(index)
        if tpl is None:
            tpl = self._templates[index] = json.dumps(self._chunk(index, "\x00", None), ensure_ascii=False)
        return tpl.replace('"\\u0000"', json.dumps(text, ensure_ascii=False), 1)

    def _chunk(self, index: int, delta: str | None, finish: str | None, role: bool = False) -> dict:
        if self.kind == "chat.completion":
            d: dict = {"role": "assistant", "content": ""} if role else ({"content": delta} if delta else {})
            choice: dict = {"index": index, "delta": d, "finish_reason": finish, "logprobs": None}
            obj = "chat.completion.chunk"
        else:
            choice = {"index": index, "text": delta or "", "finish_reason": finish, "logprobs": None}
            obj = "text_completion"
        return {
            "id": self.id,
            "object": obj,
            "created": self.created,
            "model": self.st.model_name,
            "choices": [choice],
        }

    def _with_logprobs(self, chunk: dict, entries: list[dict]) -> dict:
        if entries:
            ch = chunk["choices"][0]
            if self.kind == "chat.completion":
                ch["logprobs"] = {"content": _chat_entries(entries), "refusal": None}
            else:
                ch["logprobs"] = _completion_logprobs(entries)
        return chunk

    async def stream_chunks(self) -> AsyncIterator[dict | str]:
        merged: asyncio.Queue[tuple[int, str | Finished | BaseException]] = asyncio.Queue()
        for i, s in enumerate(self.streams):
            s.redirect(merged, i)
        completion, first, answer, status = 0, True, [], 200
        left = len(self.streams)
        loop = asyncio.get_running_loop()
        end = loop.time() + self.deadline
        slow = self.tools or self.logprobs  # per-piece handling instead of the coalesced fast path
        tool_streams = [ToolStream() for _ in self.streams] if self.tools else []
        sent = [0] * len(self.streams)  # logprob entries sent per choice
        called = [False] * len(self.streams)
        try:
            if self.kind == "chat.completion":
                for i in range(len(self.streams)):
                    chunk = self._chunk(i, None, None, role=True)
                    if i == 0 and self.sources is not None:
                        chunk["sources"] = self.sources
                    yield chunk
            elif self.echo:
                for i in range(len(self.streams)):
                    c = self._chunk(i, self.echo[i], None)
                    if self.prompt_logprobs is not None:
                        c = self._with_logprobs(c, self.prompt_logprobs[i][:-1])
                    yield c
            while left:
                try:
                    got = [merged.get_nowait() if not merged.empty() else await _get(merged, end - loop.time())]
                except TimeoutError:
                    status = 504
                    yield {
                        "error": {
                            "message": f"generation took longer than {self.deadline:g}s",
                            "type": "timeout",
                        }
                    }
                    break
                while not merged.empty():  # when the client lags, send what has piled up as one chunk
                    got.append(merged.get_nowait())
                failed = False
                for i, ev in (got if slow else _coalesce(got)):
                    if isinstance(ev, BaseException):
                        failed = True
                        break
                    if isinstance(ev, Finished):
                        left -= 1
                        completion += ev.completion_tokens
                        rest: list[dict] = []
                        if self.tools:
                            for _kind, val in tool_streams[i].finish():
                                yield self._chunk(i, val, None)
                        if self.logprobs and ev.logprobs:
                            rest = ev.logprobs[sent[i] :]
                        reason = "tool_calls" if called[i] else ev.finish_reason
                        yield self._with_logprobs(self._chunk(i, None, reason), rest)
                        continue
                    if first:
                        self.st.metrics.ttft.observe(self.caller.elapsed())
                        first = False
                    if i == 0:
                        answer.append(ev)
                    if not slow:
                        yield self._text_chunk(i, ev)
                        continue
                    entries = ev.logprobs if isinstance(ev, Piece) else []
                    sent[i] += len(entries)
                    parts = tool_streams[i].feed(ev) if self.tools else [("content", str(ev))]
                    for kind, val in parts:
                        if kind == "tool":
                            called[i] = True
                            c = self._chunk(i, None, None)
                            c["choices"][0]["delta"] = {"tool_calls": [val]}
                        else:
                            c = self._chunk(i, val, None)
                        yield self._with_logprobs(c, entries)
                        entries = []
                    if entries:
                        yield self._with_logprobs(self._chunk(i, None, None), entries)
                if failed:
                    status = 500
                    yield {"error": {"message": "generation failed", "type": "server_error"}}
                    break
            if status == 200 and self.body.include_usage():
                yield {
                    "id": self.id,
                    "object": "chat.completion.chunk"
                    if self.kind == "chat.completion"
                    else "text_completion",
                    "created": self.created,
                    "model": self.st.model_name,
                    "choices": [],
                    "usage": self.usage(completion),
                }
            yield "[DONE]"
        finally:  # client gone, timeout or done: free the rows and account for the request
            self.cancel()
            self._record(status if left == 0 or status != 200 else 499, completion, "".join(answer))


async def _get(queue: asyncio.Queue, timeout: float):
    """queue.get() with a timeout, without the task per call that asyncio.wait_for makes (3.11+: a timer)."""
    if _timeout is None:
        return await asyncio.wait_for(queue.get(), max(0.0, timeout))
    async with _timeout(max(0.0, timeout)):
        return await queue.get()


_timeout = getattr(asyncio, "timeout", None)  # Python >= 3.11


def _coalesce(
    events: list[tuple[int, str | Finished | BaseException]],
) -> list[tuple[int, str | Finished | BaseException]]:
    """Adjacent text pieces of the same choice joined; order otherwise kept."""
    out: list[tuple[int, str | Finished | BaseException]] = []
    for i, ev in events:
        if isinstance(ev, str) and out and out[-1][0] == i and isinstance(out[-1][1], str):
            out[-1] = (i, out[-1][1] + ev)
        else:
            out.append((i, ev))
    return out
