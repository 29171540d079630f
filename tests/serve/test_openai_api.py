"""The real server on loopback, driven by the official openai client and plain HTTP for error paths."""

from __future__ import annotations

import json

import openai
import pytest
import requests

KEY = "sk-test-key-123"


def client(srv, key: str = KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.url + "/v1", api_key=key, max_retries=0, timeout=60)


@pytest.fixture
def srv(serve):
    return serve(api_keys=[KEY], max_batch_size=8)


def test_models_and_chat_non_streaming(srv, tiny_model) -> None:
    c = client(srv)
    assert [m.id for m in c.models.list().data] == [tiny_model.parent.name]  # .../tiny0/model → tiny0
    r = c.chat.completions.create(
        model="model",
        messages=[{"role": "user", "content": "胸痛三天怎么办？"}],
        max_tokens=12,
        temperature=0,
    )
    ch = r.choices[0]
    assert ch.finish_reason in ("stop", "length") and isinstance(ch.message.content, str)
    assert r.usage.prompt_tokens > 5 and 0 < r.usage.completion_tokens <= 12
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    if ch.finish_reason == "length":
        assert r.usage.completion_tokens == 12


def test_streaming_matches_non_streaming_and_counts_usage(srv) -> None:
    c = client(srv)
    msgs = [{"role": "user", "content": "高血压吃什么药？"}]
    full = c.chat.completions.create(model="model", messages=msgs, max_tokens=16, temperature=0)
    pieces, usage, finish = [], None, None
    for chunk in c.chat.completions.create(
        model="model",
        messages=msgs,
        max_tokens=16,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    ):
        if chunk.usage:
            usage = chunk.usage
        for ch in chunk.choices:
            pieces.append(ch.delta.content or "")
            finish = ch.finish_reason or finish
    assert "".join(pieces) == full.choices[0].message.content
    assert finish == full.choices[0].finish_reason
    assert (
        usage.completion_tokens == full.usage.completion_tokens
        and usage.prompt_tokens == full.usage.prompt_tokens
    )


def test_sampling_n_seed_and_stop(srv) -> None:
    c = client(srv)
    msgs = [{"role": "user", "content": "发热咳嗽"}]
    a = c.chat.completions.create(model="model", messages=msgs, max_tokens=10, temperature=1.0, seed=7, n=3)
    b = c.chat.completions.create(model="model", messages=msgs, max_tokens=10, temperature=1.0, seed=7, n=3)
    assert len(a.choices) == 3 and [x.index for x in a.choices] == [0, 1, 2]
    assert [x.message.content for x in a.choices] == [x.message.content for x in b.choices]
    assert a.usage.completion_tokens >= max(len(x.message.content) > 0 for x in a.choices)
    one = c.chat.completions.create(model="model", messages=msgs, max_tokens=10, temperature=1.0, seed=3)
    text = one.choices[0].message.content
    clean = [ch for ch in text[1:] if ch != "\ufffd" and ch.strip()]
    if clean:  # a stop string taken from the known answer cuts it there
        stop = clean[0]
        s = c.chat.completions.create(
            model="model", messages=msgs, max_tokens=10, temperature=1.0, seed=3, stop=[stop]
        )
        assert s.choices[0].message.content == text[: text.index(stop)]
        assert s.choices[0].finish_reason == "stop"


def test_completions_route(srv) -> None:
    c = client(srv)
    r = c.completions.create(model="model", prompt=["患者男性", "糖尿病"], max_tokens=6, temperature=0)
    assert len(r.choices) == 2 and r.usage.completion_tokens <= 12
    streamed = "".join(
        ch.choices[0].text
        for ch in c.completions.create(
            model="model", prompt="患者男性", max_tokens=6, temperature=0, stream=True
        )
        if ch.choices
    )
    assert streamed == r.choices[0].text


def test_401_without_or_with_wrong_key(srv) -> None:
    with pytest.raises(openai.AuthenticationError):
        client(srv, "wrong").models.list()
    r = requests.post(srv.url + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 401 and "API key" in r.json()["error"]["message"]
    assert requests.get(srv.url + "/health").json()["status"] == "ok"  # health stays open


def test_400_413_422_paths(serve) -> None:
    srv = serve(api_keys=[KEY], max_body_bytes=2048, max_prompt_tokens=40)
    h = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    url = srv.url + "/v1/chat/completions"
    bad = requests.post(url, data=b"{not json", headers=h)
    assert bad.status_code == 400 and bad.json()["error"]["message"] == "request body is not valid JSON"
    big = requests.post(
        url, data=json.dumps({"messages": [{"role": "user", "content": "痛" * 3000}]}), headers=h
    )
    assert big.status_code == 413 and "larger than" in big.json()["error"]["message"]
    long = requests.post(
        url, json={"messages": [{"role": "user", "content": "胸痛发热咳嗽" * 20}]}, headers=h
    )
    assert long.status_code == 400 and long.json()["error"]["code"] == "context_length_exceeded"
    for body in (
        {"messages": []},
        {"messages": [{"role": "doctor", "content": "x"}]},
        {"messages": [{"role": "user", "content": "x"}], "temperature": 5},
    ):
        r = requests.post(url, json=body, headers=h)
        assert r.status_code == 422, body
        err = r.json()["error"]
        assert err["type"] == "invalid_request_error" and "Traceback" not in r.text
    with pytest.raises(openai.BadRequestError):
        client(srv).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}], max_tokens=100000
        )


def test_429_with_retry_after(serve) -> None:
    srv = serve(api_keys=[KEY, "sk-other"], rate_limit_rpm=6, rate_burst=2)
    h = {"Authorization": f"Bearer {KEY}"}
    codes = [requests.get(srv.url + "/v1/models", headers=h).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    r = requests.get(srv.url + "/v1/models", headers=h)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    with pytest.raises(openai.RateLimitError):
        client(srv).models.list()
    assert (
        requests.get(srv.url + "/v1/models", headers={"Authorization": "Bearer sk-other"}).status_code == 200
    )


def test_metrics_and_audit_log_are_deidentified(serve, tmp_path) -> None:
    audit = tmp_path / "a.jsonl"
    srv = serve(api_keys=[KEY], audit_log=audit)
    c = client(srv)
    phi = "患者张三，身份证号110101199003078515，电话13812345678，胸痛三天"
    c.chat.completions.create(
        model="m", messages=[{"role": "user", "content": phi}], max_tokens=4, temperature=0
    )
    m = requests.get(srv.url + "/metrics", headers={"Authorization": f"Bearer {KEY}"}).text
    assert 'medgo_requests_total{route="/v1/chat/completions",status="200"} 1.0' in m
    assert "medgo_queue_depth" in m and "medgo_request_latency_seconds_bucket" in m
    assert "medgo_batch_size_count" in m
    assert requests.get(srv.url + "/metrics").status_code == 401
    rows = [json.loads(x) for x in audit.read_text("utf-8").splitlines()]
    row = next(r for r in rows if r["route"] == "/v1/chat/completions")
    assert row["key_id"].startswith("key-") and KEY not in audit.read_text("utf-8")
    assert row["prompt_tokens"] > 0 and row["completion_tokens"] > 0 and row["latency_ms"] > 0
    for secret in ("110101199003078515", "13812345678"):
        assert secret not in audit.read_text("utf-8")
    assert "胸痛三天" in row["prompt"]  # clinical content stays, identifiers go
