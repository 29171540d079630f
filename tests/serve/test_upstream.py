"""One front for every engine: a real llama.cpp server (llama-cpp-python's OpenAI server on a GGUF the
project exported) supervised behind medgo's app. Auth, per-key limits, the audit log, RAG sources, structured
outputs (passed through as a llama.cpp grammar) and cancellation still happen."""

from __future__ import annotations

import json
import time

import httpx
import jsonschema
import openai
import pytest
import requests

pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed (pip install 'llama-cpp-python[server]')")
pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python's server extra not installed")

KEY, OTHER = "sk-upstream-1", "sk-upstream-2"
PASSAGES = [
    {"id": "p-htn", "title": "高血压", "text": "高血压患者应低盐饮食，首选氨氯地平等降压药物。"},
    {"id": "p-dm", "title": "糖尿病", "text": "2型糖尿病一线用药为二甲双胍，需监测糖化血红蛋白。"},
]
SCHEMA = {"type": "object", "properties": {"dx": {"type": "string", "maxLength": 6}, "ok": {"type": "boolean"}},
          "required": ["dx", "ok"], "additionalProperties": False}


@pytest.fixture(scope="module")
def llama_server(tiny_model_2k, tmp_path_factory):
    from medgo.inference.upstream import llamacpp_process
    from medgo.model.export import export_gguf

    d = tmp_path_factory.mktemp("upstream")
    gguf = export_gguf(tiny_model_2k, d, "f16")
    proc = llamacpp_process(gguf, threads=1, n_ctx=2048, log_file=d / "llama.log")
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    from medgo.retrieval import build_index

    d = tmp_path_factory.mktemp("uprag")
    src = d / "passages.jsonl"
    src.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in PASSAGES), encoding="utf-8")
    build_index([src], d / "index")
    return d / "index"


@pytest.fixture
def gateway(llama_server, tiny_model_2k, index_dir, tmp_path):
    from conftest import live
    from medgo.inference.registry import load_serving_engine
    from medgo.serve.app import create_app
    from medgo.serve.settings import ServeSettings

    engine = load_serving_engine("upstream", tiny_model_2k, base_url=llama_server.url, api_key=llama_server.api_key,
                                 flavor="llamacpp")
    settings = ServeSettings(api_keys=[KEY, OTHER], rate_limit_rpm=60, rate_burst=12, audit_log=tmp_path / "a.jsonl",
                             index_dir=index_dir, rag_top_k=2, model_name="medgo-tiny")
    with live(create_app(settings, engine=engine)) as srv:
        yield srv, tmp_path / "a.jsonl", engine


def client(srv, key=KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.url + "/v1", api_key=key, max_retries=0, timeout=120)


def test_gateway_matches_the_engine_and_keeps_its_safeguards(gateway, llama_server) -> None:
    srv, audit, engine = gateway
    c = client(srv)
    assert [m.id for m in c.models.list().data] == ["medgo-tiny"]
    msgs = [{"role": "user", "content": "患者张三，电话13812345678，糖尿病吃什么药？"}]
    r = c.chat.completions.create(model="medgo-tiny", messages=msgs, max_tokens=12, temperature=0,
                                  extra_body={"rag": True})
    assert r.model_extra["sources"][0]["id"] == "p-dm"  # RAG through the upstream engine
    assert r.usage.prompt_tokens > 20 and 0 < r.usage.completion_tokens <= 12
    # the same rendered prompt sent to llama.cpp directly gives the same greedy text
    plain = c.chat.completions.create(model="m", messages=[{"role": "user", "content": "胸痛"}], max_tokens=10,
                                      temperature=0)
    direct = httpx.post(llama_server.url + "/v1/completions", timeout=60,
                        headers={"Authorization": f"Bearer {llama_server.api_key}"},
                        json={"prompt": engine.render([{"role": "user", "content": "胸痛"}]), "max_tokens": 10,
                              "temperature": 0}).json()
    assert plain.choices[0].message.content == direct["choices"][0]["text"]
    streamed = "".join(ch.choices[0].delta.content or "" for ch in c.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "胸痛"}], max_tokens=10, temperature=0, stream=True)
        if ch.choices)
    assert streamed == plain.choices[0].message.content
    # the engine process is not reachable around the gateway without its private key
    assert httpx.get(llama_server.url + "/v1/models", timeout=10).status_code == 401
    with pytest.raises(openai.AuthenticationError):
        client(srv, "wrong").models.list()
    rows = [json.loads(x) for x in audit.read_text("utf-8").splitlines()]
    chat = [x for x in rows if x["route"] == "/v1/chat/completions"]
    assert chat and chat[0]["key_id"].startswith("key-") and "13812345678" not in audit.read_text("utf-8")
    assert chat[0]["completion_tokens"] > 0
    m = requests.get(srv.url + "/metrics", headers={"Authorization": f"Bearer {KEY}"}).text
    assert 'medgo_requests_total{route="/v1/chat/completions",status="200"}' in m


def test_per_key_429_through_the_upstream(gateway) -> None:
    srv, audit, _ = gateway
    h = {"Authorization": f"Bearer {OTHER}"}
    codes = [requests.get(srv.url + "/v1/models", headers=h).status_code for _ in range(14)]
    assert 429 in codes and codes[0] == 200
    assert requests.get(srv.url + "/v1/models", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    assert any(json.loads(x)["status"] == 429 for x in audit.read_text("utf-8").splitlines())


def test_structured_output_passes_through_as_a_llama_cpp_grammar(gateway) -> None:
    srv, _, _ = gateway
    c = client(srv)
    r = c.chat.completions.create(model="m", messages=[{"role": "user", "content": "诊断？"}], max_tokens=60,
                                  response_format={"type": "json_schema", "json_schema": {"name": "d", "schema": SCHEMA}})
    jsonschema.validate(json.loads(r.choices[0].message.content), SCHEMA)


def test_client_disconnect_cancels_the_upstream_stream(gateway) -> None:
    srv, _, engine = gateway
    with httpx.stream("POST", srv.url + "/v1/chat/completions", timeout=60, headers={"Authorization": f"Bearer {KEY}"},
                      json={"messages": [{"role": "user", "content": "胸痛"}], "max_tokens": 1500, "stream": True,
                            "temperature": 1.0}) as r:
        for line in r.iter_lines():
            if '"content"' in line and '""' not in line:
                break  # one piece arrived: hang up
    deadline = time.monotonic() + 10
    while engine.queue_depth() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.queue_depth() == 0


def test_clinical_assess_through_the_upstream(gateway) -> None:
    from medgo.serve.clinical import published_schema

    srv, _, _ = gateway
    for case in ({"chief_complaint": "胸痛3小时", "labs": "肌钙蛋白升高"}, {"chief_complaint": "发热咳嗽"}):
        r = requests.post(srv.url + "/v1/clinical/assess", json={**case, "max_tokens": 400}, timeout=300,
                          headers={"Authorization": f"Bearer {KEY}"})
        assert r.status_code == 200, r.text
        jsonschema.validate(r.json(), published_schema())
        assert r.json()["meta"]["decoding"] == "constrained"


def test_web_page_through_the_upstream(gateway, browser) -> None:
    srv, _, _ = gateway
    browser.goto(srv.url + "/")
    browser.wait_for("document.getElementById('model').textContent.includes('medgo-tiny')")
    browser.js(f"""(() => {{
        const k = document.getElementById('api-key'); k.value = '{KEY}'; k.dispatchEvent(new Event('change'));
        document.getElementById('max-tokens').value = '12';
        document.getElementById('chat-rag').checked = true;
        document.getElementById('input').value = '糖尿病吃什么药？';
        document.getElementById('send').click();
    }})()""")
    browser.wait_for("document.querySelector('.msg.assistant')?.dataset.state === 'done' || "
                     "document.querySelector('.msg.error') !== null", timeout=90)
    assert browser.js("document.querySelector('.msg.error')") is None, browser.js("document.body.innerText")
    assert "p-dm" in browser.js("document.querySelector('.msg.assistant + .sources').innerText")
    browser.js("""(() => {
        document.getElementById('tab-case').click();
        const f = document.getElementById('case-form');
        f.elements['chief_complaint'].value = '胸痛3小时'; f.elements['labs'].value = '肌钙蛋白升高';
        document.getElementById('assess').click();
    })()""")
    browser.wait_for("document.querySelector('#assessment fieldset') !== null", timeout=120)
    assert browser.js("document.querySelector('#assessment input[name=diagnosis]').value")
    assert "按结构约束解码" in browser.js("document.querySelector('#assessment .meta').textContent")


def test_tools_and_refusals_through_the_upstream(gateway) -> None:
    srv, _, _ = gateway
    c = client(srv)
    tool = {"type": "function", "function": {"name": "lookup_drug", "parameters": {
        "type": "object", "properties": {"drug": {"type": "string", "maxLength": 8}}, "required": ["drug"],
        "additionalProperties": False}}}
    r = c.chat.completions.create(model="m", messages=[{"role": "user", "content": "剂量？"}], tools=[tool],
                                  tool_choice={"type": "function", "function": {"name": "lookup_drug"}}, max_tokens=60)
    call = r.choices[0].message.tool_calls[0]
    assert r.choices[0].finish_reason == "tool_calls" and call.function.name == "lookup_drug"
    assert set(json.loads(call.function.arguments)) == {"drug"}
    with pytest.raises(openai.BadRequestError) as e:  # llama-cpp-python's server has no logprobs by default
        c.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], max_tokens=2, logprobs=True)
    assert e.value.body["param"] == "logprobs"
