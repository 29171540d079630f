"""The front's wiring without a GPU: model ids, the supervised vLLM command (tensor parallel, private key),
and how each upstream flavor receives structured-output constraints."""

from __future__ import annotations

from pathlib import Path

import pytest

from medgo.errors import MedgoError
from medgo.inference.base import GenerationParams
from medgo.serve.runner import build_engine, model_id
from medgo.serve.settings import ServeSettings

SCHEMA = {"type": "object", "properties": {"dx": {"type": "string"}}, "required": ["dx"]}


def test_model_ids(tmp_path: Path) -> None:
    stage_model = tmp_path / "runs" / "demo" / "sft" / "model"
    stage_model.mkdir(parents=True)
    (stage_model / "config.json").write_text("{}")
    assert model_id(stage_model) == "demo-sft"
    assert model_id(tmp_path / "export" / "demo-sft-q4_k_m.gguf") == "demo-sft-q4_k_m"
    plain = tmp_path / "qwen2-7b-med"
    plain.mkdir()
    (plain / "config.json").write_text("{}")
    assert model_id(plain) == "qwen2-7b-med"


def test_vllm_is_supervised_behind_the_front_with_tensor_parallelism(tiny_model: Path) -> None:
    from medgo.serve.vllm_launch import vllm_process

    p = vllm_process(tiny_model, name="demo-sft", tensor_parallel=8)
    argv = p.argv
    assert argv[:3] == ["vllm", "serve", str(tiny_model)]
    assert argv[argv.index("--tensor-parallel-size") + 1] == "8"
    assert argv[argv.index("--host") + 1] == "127.0.0.1" and p.url.startswith("http://127.0.0.1:")
    key = argv[argv.index("--api-key") + 1]
    assert key == p.api_key and key.startswith("medgo-internal-")  # only the gateway can reach it
    assert "--allowed-origins" not in argv  # CORS stays the gateway's


def test_sglang_is_supervised_the_same_way(tiny_model: Path) -> None:
    from medgo.inference.upstream import sglang_process

    p = sglang_process(tiny_model, tensor_parallel=4)
    assert p.argv[1:3] == ["-m", "sglang.launch_server"] and p.argv[p.argv.index("--tp-size") + 1] == "4"
    assert p.argv[p.argv.index("--api-key") + 1] == p.api_key and "127.0.0.1" in p.argv
    with pytest.raises(MedgoError, match="needs SGLang"):
        build_engine(tiny_model, ServeSettings(), engine="sglang")


def test_missing_vllm_is_a_clear_error(tiny_model: Path, monkeypatch) -> None:
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(MedgoError, match="needs vLLM"):
        build_engine(tiny_model, ServeSettings(), engine="vllm")


@pytest.mark.parametrize("flavor,field", [("vllm", "structured_outputs"), ("llama-server", "json_schema"),
                                          ("sglang", "json_schema")])
def test_constraints_go_through_in_the_upstreams_own_fields(tiny_model: Path, flavor: str, field: str) -> None:
    from medgo.inference.registry import load_serving_engine

    eng = load_serving_engine("upstream", tiny_model, base_url="http://127.0.0.1:9/v1", flavor=flavor)
    assert eng.supports_constraints and eng.base_url == "http://127.0.0.1:9"
    ids = eng.encode(eng.render([{"role": "user", "content": "胸痛"}]))
    body = eng.payload(ids, GenerationParams(max_new_tokens=8, constraint={"type": "json_schema", "schema": SCHEMA}), 0)
    assert field in body and body["stream"] is True and body["prompt"] == eng.decode(ids)
    tool = eng.payload(ids, GenerationParams(constraint={"type": "tool_call", "schema": SCHEMA}), 0)
    assert tool["prompt"].endswith("<tool_call>\n")  # the gateway writes the tags, the upstream the JSON
    plain = load_serving_engine("upstream", tiny_model, base_url="http://127.0.0.1:9", flavor="openai")
    assert not plain.supports_constraints  # assess falls back to parse and repair


def test_medgo_as_a_generic_openai_upstream(serve, tiny_model_2k: Path, tmp_path: Path) -> None:
    """`--upstream URL` with the plain `openai` flavor, the upstream being another medgo (transformers):
    echo + prompt logprobs pass through (lm-evaluation-harness through the gateway), and the clinical endpoint
    falls back to parse/repair (the generic flavor gets no constraints), reporting it."""
    import openai
    import requests

    from conftest import live
    from medgo.inference.registry import load_serving_engine
    from medgo.serve.app import create_app

    upstream = serve(long=True)
    eng = load_serving_engine("upstream", tiny_model_2k, base_url=upstream.url + "/v1", flavor="openai")
    with live(create_app(ServeSettings(audit_log=tmp_path / "gw.jsonl", model_name="gw"), engine=eng)) as gw:
        ids = eng.encode("患者男性，五十岁，反复胸痛三天")
        body = {"prompt": ids, "max_tokens": 1, "temperature": 0, "logprobs": 2, "echo": True}
        via = requests.post(gw.url + "/v1/completions", json=body, timeout=60).json()["choices"][0]["logprobs"]
        direct = requests.post(upstream.url + "/v1/completions", json=body, timeout=60).json()["choices"][0]["logprobs"]
        assert via["token_logprobs"][0] is None and len(via["token_logprobs"]) == len(ids) + 1
        assert via["token_logprobs"][1:] == pytest.approx(direct["token_logprobs"][1:], abs=1e-5)
        c = openai.OpenAI(base_url=gw.url + "/v1", api_key="x", max_retries=0)
        r = c.chat.completions.create(model="gw", messages=[{"role": "user", "content": "胸痛"}], max_tokens=8,
                                      temperature=0)
        d = openai.OpenAI(base_url=upstream.url + "/v1", api_key="x", max_retries=0).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "胸痛"}], max_tokens=8, temperature=0)
        assert r.choices[0].message.content == d.choices[0].message.content
        a = requests.post(gw.url + "/v1/clinical/assess", json={"chief_complaint": "胸痛", "max_tokens": 64}, timeout=120)
        assert a.status_code in (200, 502)  # free decoding of a tiny model may find no valid answer: never invalid
        if a.status_code == 200:
            assert a.json()["meta"]["decoding"] == "free"
        with pytest.raises(openai.BadRequestError):  # no constraints through a generic upstream: said, not ignored
            c.chat.completions.create(model="gw", messages=[{"role": "user", "content": "x"}], max_tokens=4,
                                      response_format={"type": "json_object"})
