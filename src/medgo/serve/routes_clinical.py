"""POST /v1/clinical/assess and GET /v1/clinical/schema."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request

from medgo.inference.base import GenerationParams
from medgo.serve.clinical import (
    DECODING_CONSTRAINT,
    AssessMeta,
    AssessRequest,
    AssessResponse,
    build_messages,
    parse_assessment,
    parse_constrained,
    published_schema,
)
from medgo.serve.errors import APIError
from medgo.serve.routes_openai import retrieve_for
from medgo.serve.state import Caller, authorize, state_of

router = APIRouter(prefix="/v1/clinical")
ROUTE = "/v1/clinical/assess"


@router.get("/schema")
async def schema() -> dict:
    return published_schema()


@router.post("/assess", response_model=AssessResponse)
async def assess(body: AssessRequest, request: Request, caller: Caller = Depends(authorize)) -> dict:
    st = state_of(request)
    query = "；".join(x for x in (body.chief_complaint, body.present_illness) if x)
    messages, found = retrieve_for(st, body.rag, query, build_messages(body))
    ids = st.tokenize(messages)
    max_new = st.max_new_tokens(body.max_tokens, len(ids))
    completion, why, last = 0, [], ""
    # Engines that decode under a grammar get the schema itself: the answer is valid by construction. The
    # others' text is parsed, repaired, or regenerated.
    constrained = st.supports_constraints and st.settings.assess_constrained
    for attempt in range(1, st.settings.assess_attempts + 1):
        # A retry that decodes greedily again would say the same thing: regenerations sample.
        temp = body.temperature if attempt == 1 else max(0.7, body.temperature)
        seed = None if body.seed is None else body.seed + attempt - 1
        params = GenerationParams(
            max_new_tokens=max_new,
            temperature=temp,
            seed=seed,
            constraint=DECODING_CONSTRAINT if constrained else None,
        )
        (stream,) = st.submit(ids, params, 1, f"{caller.request_id}-{attempt}")
        left = st.settings.request_timeout_s - caller.elapsed()
        try:
            last, fin = await asyncio.wait_for(stream.collect(), max(left, 0.001))
        except TimeoutError:
            stream.cancel()
            _record(st, caller, 504, len(ids), completion, body.chief_complaint, "", "timeout")
            raise APIError(
                504, "assessment took longer than the request timeout", "timeout", code="timeout"
            ) from None
        completion += fin.completion_tokens
        if constrained:
            parsed = parse_constrained(last)
            notes = [] if parsed is not None else [f"constrained output ended early ({fin.finish_reason})"]
        else:
            parsed, notes = parse_assessment(last)
        if parsed is not None:
            outcome = (
                "valid" if attempt == 1 and not notes else ("repaired" if attempt == 1 else "regenerated")
            )
            meta = AssessMeta(
                outcome=outcome,
                decoding="constrained" if constrained else "free",
                attempts=attempt,
                repairs=notes,
                model=st.model_name,
                prompt_tokens=len(ids) * attempt,
                completion_tokens=completion,
                sources=found,
            )
            st.metrics.assess.labels(outcome).inc()
            _record(
                st,
                caller,
                200,
                len(ids) * attempt,
                completion,
                body.chief_complaint,
                parsed.diagnosis,
                outcome,
            )
            return {**parsed.model_dump(), "meta": meta.model_dump()}
        why = notes
    st.metrics.assess.labels("failed").inc()
    _record(
        st,
        caller,
        502,
        len(ids) * st.settings.assess_attempts,
        completion,
        body.chief_complaint,
        last,
        "failed",
    )
    raise APIError(
        502,
        f"the model gave no schema-valid assessment in {st.settings.assess_attempts} attempts "
        f"(last problem: {'; '.join(why)}); nothing unvalidated is returned",
        "model_output_invalid",
        code="assessment_invalid",
    )


def _record(
    st,
    caller: Caller,
    status: int,
    prompt_tokens: int,
    completion: int,
    prompt: str,
    answer: str,
    outcome: str,
) -> None:
    st.metrics.observe(ROUTE, status, caller.elapsed(), prompt_tokens, completion)
    st.audit.write(
        key_id=caller.key_id,
        route=ROUTE,
        status=status,
        latency_s=caller.elapsed(),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion,
        request_id=caller.request_id,
        prompt=prompt,
        response=answer,
        outcome=outcome,
    )
