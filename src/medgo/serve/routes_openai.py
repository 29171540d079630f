"""OpenAI-compatible routes: /v1/models, /v1/chat/completions and /v1/completions (SSE streaming or not)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from medgo.inference.base import GenerationParams
from medgo.inference.streams import Finished, RequestStream
from medgo.serve.errors import APIError
from medgo.serve.protocol import ChatCompletionRequest, CompletionRequest, _SamplingRequest, new_id, now
from medgo.serve.state import Caller, ServerState, authorize, state_of

router = APIRouter(prefix="/v1")


@router.get("/models")
async def models(request: Request, caller: Caller = Depends(authorize)) -> dict:
    st = state_of(request)
    return {
        "object": "list",
        "data": [{"id": st.model_name, "object": "model", "created": now(), "owned_by": "medgo"}],
    }


def _params(st: ServerState, req: _SamplingRequest, prompt_len: int) -> GenerationParams:
    asked = req.max_completion_tokens or req.max_tokens
    return GenerationParams(
        max_new_tokens=st.max_new_tokens(asked, prompt_len),
        temperature=req.temperature,
        top_p=req.top_p,
        stop=req.stop_list(),
        seed=req.seed,
    )


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
    messages = [m.model_dump(exclude_none=True) for m in body.messages]
    messages, found = retrieve_for(st, body.rag, messages[-1]["content"], messages)
    ids = st.tokenize(messages)
    params = _params(st, body, len(ids))
    streams = st.submit(ids, params, body.n, caller.request_id)
    job = _Job(
        st,
        caller,
        "/v1/chat/completions",
        "chat.completion",
        [streams],
        [len(ids)],
        body,
        prompt_text=messages[-1]["content"],
    )
    job.sources = found
    if body.stream:
        return _sse(job.stream_chunks())
    return await job.complete()


@router.post("/completions")
async def completions(body: CompletionRequest, request: Request, caller: Caller = Depends(authorize)):
    st = state_of(request)
    prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
    if not prompts or len(prompts) > 16:
        raise APIError(422, "prompt must be a string or a list of 1 to 16 strings", param="prompt")
    ids = [st.tokenize(p) for p in prompts]
    params = [_params(st, body, len(x)) for x in ids]
    groups: list[list[RequestStream]] = []
    try:
        for x, p in zip(ids, params, strict=True):
            groups.append(st.submit(x, p, body.n, caller.request_id))
    except APIError:
        for g in groups:
            for s in g:
                s.cancel()
        raise
    job = _Job(
        st,
        caller,
        "/v1/completions",
        "text_completion",
        groups,
        [len(x) for x in ids],
        body,
        prompt_text=prompts[0],
    )
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
                c["message"] = {"role": "assistant", "content": text}
            else:
                c["text"] = text
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

    async def stream_chunks(self) -> AsyncIterator[dict | str]:
        merged: asyncio.Queue[tuple[int, str | Finished | BaseException]] = asyncio.Queue()
        for i, s in enumerate(self.streams):
            s.redirect(merged, i)
        completion, first, answer, status = 0, True, [], 200
        left = len(self.streams)
        loop = asyncio.get_running_loop()
        end = loop.time() + self.deadline
        try:
            if self.kind == "chat.completion":
                for i in range(len(self.streams)):
                    chunk = self._chunk(i, None, None, role=True)
                    if i == 0 and self.sources is not None:
                        chunk["sources"] = self.sources
                    yield chunk
            while left:
                try:
                    got = [await asyncio.wait_for(merged.get(), max(0.0, end - loop.time()))]
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
                for i, ev in _coalesce(got):
                    if isinstance(ev, BaseException):
                        failed = True
                        break
                    if isinstance(ev, Finished):
                        left -= 1
                        completion += ev.completion_tokens
                        yield self._chunk(i, None, ev.finish_reason)
                        continue
                    if first:
                        self.st.metrics.ttft.observe(self.caller.elapsed())
                        first = False
                    if i == 0:
                        answer.append(ev)
                    yield self._text_chunk(i, ev)
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
