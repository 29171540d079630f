"""OpenAI parity with the official client on a real server: logprobs, echo + prompt logprobs, token-id
prompts, content parts, tools (Qwen <tool_call> into tool_calls, streamed too), unsupported fields → 400."""

from __future__ import annotations

import json
import math

import jsonschema
import openai
import pytest
import requests

from medgo.serve.tools import ToolStream, parse_tool_calls

WEATHER = {
    "type": "function",
    "function": {
        "name": "lookup_drug",
        "description": "查询药品说明书",
        "parameters": {
            "type": "object",
            "properties": {"drug": {"type": "string", "maxLength": 12}, "dose_mg": {"type": "integer"}},
            "required": ["drug", "dose_mg"],
            "additionalProperties": False,
        },
    },
}
MSGS = [{"role": "user", "content": "二甲双胍的剂量？"}]


def client(srv) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0, timeout=120)


@pytest.fixture
def srv(serve):
    return serve()


def test_chat_logprobs_streamed_and_not(srv) -> None:
    c = client(srv)
    r = c.chat.completions.create(model="m", messages=MSGS, max_tokens=8, temperature=0, logprobs=True,
                                  top_logprobs=3)
    content = r.choices[0].logprobs.content
    assert len(content) == r.usage.completion_tokens
    for e in content:
        assert len(e.top_logprobs) == 3 and e.logprob <= 0
        assert math.isclose(e.logprob, e.top_logprobs[0].logprob, abs_tol=1e-6)  # greedy: the top token
    assert "".join(e.token for e in content) == r.choices[0].message.content
    streamed = []
    for ch in c.chat.completions.create(model="m", messages=MSGS, max_tokens=8, temperature=0, logprobs=True,
                                        top_logprobs=3, stream=True):
        if ch.choices and ch.choices[0].logprobs and ch.choices[0].logprobs.content:
            streamed += ch.choices[0].logprobs.content
    assert [(e.token, round(e.logprob, 5)) for e in streamed] == [(e.token, round(e.logprob, 5)) for e in content]


def test_completions_echo_logprobs_match_in_process_scoring(srv, tiny_model) -> None:
    from medgo.inference.hf import HFEngine

    hf = HFEngine.from_path(tiny_model)
    ctx, cont = "患者男性，五十岁，", "反复胸痛三天"
    c = client(srv)
    # token ids as the prompt, context and continuation tokenized apart (what lm-evaluation-harness sends)
    c_ids, x_ids = hf.encode(ctx), hf.encode(cont)
    ids = c_ids + x_ids
    r = c.completions.create(model="m", prompt=ids, max_tokens=1, temperature=0, logprobs=1, echo=True)
    lp = r.choices[0].logprobs
    n_ctx, n_all = len(c_ids), len(ids)
    assert lp.token_logprobs[0] is None and len(lp.token_logprobs) == n_all + 1
    (want, greedy), = hf.loglikelihood([(ctx, cont)])
    assert math.isclose(sum(lp.token_logprobs[n_ctx:n_all]), want, rel_tol=1e-4, abs_tol=1e-4)
    got_greedy = all(t == max(top.values()) for t, top in zip(lp.token_logprobs[n_ctx:n_all],
                                                                lp.top_logprobs[n_ctx:n_all], strict=True))
    assert got_greedy == greedy
    # text prompts echo the text; several token-id prompts at once
    t = c.completions.create(model="m", prompt=ctx + cont, max_tokens=2, temperature=0, echo=True)
    assert t.choices[0].text.startswith(ctx + cont)
    r2 = requests.post(srv.url + "/v1/completions", json={"prompt": [ids, ids[:5]], "max_tokens": 1,
                                                          "temperature": 0, "logprobs": 1, "echo": True},
                       timeout=60).json()
    assert r2["choices"][0]["logprobs"]["token_logprobs"][1:n_all] == pytest.approx(lp.token_logprobs[1:n_all],
                                                                                     abs=1e-5)
    assert len(r2["choices"][1]["logprobs"]["tokens"]) == 6
    # completions logprobs without echo: one entry per generated token
    g = c.completions.create(model="m", prompt=ctx, max_tokens=5, temperature=0, logprobs=2)
    assert len(g.choices[0].logprobs.tokens) == g.usage.completion_tokens
    assert all(len(t) == 2 for t in g.choices[0].logprobs.top_logprobs)


def test_content_parts_equal_plain_content(srv) -> None:
    c = client(srv)
    plain = c.chat.completions.create(model="m", messages=[{"role": "user", "content": "胸痛\n发热"}],
                                      max_tokens=6, temperature=0)
    parts = c.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": [{"type": "text", "text": "胸痛"}, {"type": "text", "text": "发热"}]}],
        max_tokens=6, temperature=0)
    assert parts.choices[0].message.content == plain.choices[0].message.content
    assert parts.usage.prompt_tokens == plain.usage.prompt_tokens
    r = requests.post(srv.url + "/v1/chat/completions", timeout=30, json={"messages": [
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}]})
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages[0].content[0].type"


def test_forced_tool_call_is_valid_and_streams(serve) -> None:
    c = client(serve(long=True))  # the tools block is long for the tiny byte-level vocabulary
    params = WEATHER["function"]["parameters"]
    for choice in ({"type": "function", "function": {"name": "lookup_drug"}}, "required"):
        r = c.chat.completions.create(model="m", messages=MSGS, tools=[WEATHER], tool_choice=choice, max_tokens=200,
                                      temperature=0.8, seed=1)
        ch = r.choices[0]
        assert ch.finish_reason == "tool_calls" and len(ch.message.tool_calls) == 1
        call = ch.message.tool_calls[0]
        assert call.type == "function" and call.function.name == "lookup_drug" and call.id.startswith("call_")
        jsonschema.validate(json.loads(call.function.arguments), params)
    calls, finish = {}, None
    for chunk in c.chat.completions.create(model="m", messages=MSGS, tools=[WEATHER], tool_choice="required",
                                           max_tokens=200, temperature=0.8, seed=1, stream=True):
        for ch in chunk.choices:
            finish = ch.finish_reason or finish
            for tc in ch.delta.tool_calls or []:
                calls.setdefault(tc.index, {"name": "", "args": ""})
                calls[tc.index]["name"] += tc.function.name or ""
                calls[tc.index]["args"] += tc.function.arguments or ""
    assert finish == "tool_calls" and calls[0]["name"] == "lookup_drug"
    assert json.loads(calls[0]["args"]) == json.loads(r.choices[0].message.tool_calls[0].function.arguments)
    # a conversation that carries the call and its result back renders and answers
    follow = c.chat.completions.create(model="m", max_tokens=6, tools=[WEATHER], messages=[
        *MSGS, {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": '{"dose": "500mg bid"}'}])
    assert follow.choices[0].finish_reason in ("stop", "length", "tool_calls")


def test_tool_call_parsing_and_stream_parser() -> None:
    text = '好的。\n<tool_call>\n{"name": "lookup_drug", "arguments": {"drug": "阿司匹林", "dose_mg": 100}}\n</tool_call>'
    content, calls = parse_tool_calls(text)
    assert content == "好的。" and calls[0]["function"]["name"] == "lookup_drug"
    assert json.loads(calls[0]["function"]["arguments"]) == {"drug": "阿司匹林", "dose_mg": 100}
    assert parse_tool_calls("<tool_call>not json</tool_call>") == ("<tool_call>not json</tool_call>", [])
    ts, events = ToolStream(), []
    for i in range(0, len(text), 3):
        events += ts.feed(text[i : i + 3])
    events += ts.finish()
    assert "".join(v for k, v in events if k == "content").strip() == "好的。"
    assert [v["function"]["name"] for k, v in events if k == "tool"] == ["lookup_drug"]


def test_unsupported_fields_are_400_naming_the_field(serve) -> None:
    c = client(serve(long=True))
    for kw, param in (({"logit_bias": {"5": 10}}, "logit_bias"), ({"frequency_penalty": 0.5}, "frequency_penalty"),
                      ({"extra_body": {"guided_regex": "a+"}}, "guided_regex")):
        with pytest.raises(openai.BadRequestError) as e:
            c.chat.completions.create(model="m", messages=MSGS, max_tokens=2, **kw)
        assert e.value.body["param"] == param
    ok = c.chat.completions.create(model="m", messages=MSGS, max_tokens=2, frequency_penalty=0, user="u1",
                                   parallel_tool_calls=False, tools=[WEATHER])  # neutral values are fine
    assert ok.choices
    with pytest.raises(openai.BadRequestError) as e:
        c.completions.create(model="m", prompt="x", max_tokens=2, suffix="y")
    assert e.value.body["param"] == "suffix"
