"""The runner on a tiny random Qwen2 (project samples), the CLI, cblue_to_sft, and the OpenAI backend's retries."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medgo.cli.main import app
from medgo.config.schema import ModelConfig, TinyModelConfig
from medgo.eval.cblue_sft import cblue_to_sft
from medgo.eval.harness import EvalSpec, run_eval
from medgo.eval.suites.cblue_run import submit_cblue
from medgo.inference.base import Engine, GenerationParams
from medgo.inference.hf import HFEngine
from medgo.model.factory import build_tiny_qwen2
from medgo.model.tokenizer import train_bpe_tokenizer

TEXTS = ["患者咳嗽发热，诊断为肺炎。", "高血压吃什么药？治疗方案。", "判断下面医疗搜索词的意图。"] * 20


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    tok = train_bpe_tokenizer(TEXTS, vocab_size=300)
    mc = ModelConfig(tiny=TinyModelConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                          num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=1024))
    d = tmp_path_factory.mktemp("tiny")
    build_tiny_qwen2(mc, tok, seed=0).save_pretrained(d)
    tok.save_pretrained(d)
    return d


def test_run_eval_writes_predictions_and_scores(model_dir: Path, tmp_path: Path) -> None:
    engine = HFEngine.from_path(model_dir, batch_size=4)
    spec = EvalSpec(tasks=["KUAKE-QIC", "CMeEE-V2"], limit=3, methods=["generate", "loglik"], template="few3")
    out = tmp_path / "out"
    summary = run_eval(engine, spec, out)
    qic = summary["tasks"]["KUAKE-QIC"]
    assert qic["n"] == 3 and 0 <= qic["generate"]["score"] <= 1 and 0 <= qic["loglik"]["score"] <= 1
    assert qic["loglik"]["parse_failures"] == 0 and "loglik" not in summary["tasks"]["CMeEE-V2"]
    rows = [json.loads(x) for x in (out / "predictions" / "KUAKE-QIC.jsonl").read_text().splitlines()]
    assert {"prompt", "raw", "parsed", "gold", "loglik"} <= set(rows[0])
    assert "意图" in rows[0]["prompt"] and rows[0]["prompt"].count("搜索词：") == 3  # the 2 sample train rows as shots + query
    assert json.loads((out / "scores.json").read_text())["tasks"].keys() == {"KUAKE-QIC", "CMeEE-V2"}
    assert "| KUAKE-QIC | 3 |" in (out / "scores.md").read_text()


def test_cli_run_score_submit(model_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["eval", "run", "--model", str(model_dir), "--tasks", "CHIP-STS,CHIP-CDN", "--limit", "2",
                            "--out", str(tmp_path / "run")])
    assert r.exit_code == 0, r.output
    assert "CHIP-CDN" in r.output and (tmp_path / "run" / "scores.json").is_file()
    r = runner.invoke(app, ["eval", "submit", "--model", str(model_dir), "--tasks", "CMeEE-V2,KUAKE-QIC",
                            "--out", str(tmp_path / "sub")])
    assert r.exit_code == 0, r.output
    sub = json.loads((tmp_path / "sub" / "CMeEE-V2_test.json").read_text())
    assert all("entities" in x for x in sub)
    gold = Path(__file__).parents[3] / "src/medgo/eval/tasks/samples/CHIP-CDN/CHIP-CDN_dev.json"
    r = runner.invoke(app, ["eval", "score", "--task", "CHIP-CDN", "--gold", str(gold), "--pred", str(gold)])
    assert r.exit_code == 0 and json.loads(r.output)["score"] == 1.0


def test_cblue_to_sft_drops_dev_overlap(tmp_path: Path) -> None:
    res = cblue_to_sft(["KUAKE-QIC", "CMeEE-V2"], tmp_path / "sft.jsonl")
    rows = [json.loads(x) for x in (tmp_path / "sft.jsonl").read_text().splitlines()]
    assert res["rows"] == len(rows) > 0
    assert rows[0]["messages"][0]["role"] == "user" and rows[0]["messages"][1]["content"]
    assert all(v["dropped_dev_overlap"] == 0 for v in res["tasks"].values())


class _Flaky(BaseHTTPRequestHandler):
    calls = 0

    def do_POST(self) -> None:  # noqa: N802
        _Flaky.calls += 1
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if _Flaky.calls % 2 == 1:  # every first try is rate limited
            self.send_response(429)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error": {"message": "slow down"}}')
            return
        text = "echo:" + body["messages"][-1]["content"]
        resp = {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}
        data = json.dumps(resp).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a) -> None:
        pass


def test_openai_engine_retries_429() -> None:
    from medgo.inference.openai_api import OpenAIEngine

    srv = HTTPServer(("127.0.0.1", 0), _Flaky)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        eng = OpenAIEngine(f"http://127.0.0.1:{srv.server_port}/v1", model="m", concurrency=1, backoff_s=0.01)
        assert isinstance(eng, Engine)
        outs = eng.generate([[{"role": "user", "content": "a"}], [{"role": "user", "content": "b"}]],
                            GenerationParams(max_new_tokens=4))
        assert [o.text for o in outs] == ["echo:a", "echo:b"] and eng.retries == 2
        with pytest.raises(NotImplementedError):
            eng.loglikelihood([("a", "b")])
    finally:
        srv.shutdown()


def test_submit_uses_test_split(model_dir: Path, tmp_path: Path) -> None:
    eng = HFEngine.from_path(model_dir, batch_size=2)
    (path,) = submit_cblue(eng, ["CHIP-CDN"], tmp_path, None)
    assert path.name == "CHIP-CDN_test.json" and all("normalized_result" in r for r in json.loads(path.read_text()))
