"""Fixtures: a tiny servable model folder (built in about a second) and real uvicorn servers on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from medgo_testkit import save_tiny_model

TEXTS = [
    "患者男性，五十岁，反复胸痛三天，活动后加重，休息后缓解。",
    "高血压患者应低盐饮食，规律服用降压药物，定期监测血压。",
    "糖尿病患者需要控制血糖，可以使用二甲双胍治疗。",
    "发热伴咳嗽咳痰，考虑社区获得性肺炎，建议胸部CT检查。",
    "诊断：冠心病。鉴别诊断：主动脉夹层，肺栓塞。下一步：心电图，肌钙蛋白。",
    '{"diagnosis": "肺炎", "differential": [], "red_flags": [], "disclaimer": "仅供参考"}',
] * 20


def build_tiny_model(out: Path, seed: int = 0, max_position_embeddings: int = 512) -> Path:
    return save_tiny_model(out, TEXTS, vocab_size=400, seed=seed, hidden_size=64, intermediate_size=128,
                           num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                           max_position_embeddings=max_position_embeddings)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


APT = "apt-get install -y chromium chromium-driver"


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium over the DevTools protocol (skips when Chromium is not installed)."""
    from cdp import Browser, chromium_path

    exe = chromium_path()
    if exe is None:
        pytest.skip(f"Chromium is not installed (Debian: {APT})")
    b = Browser(exe).page()
    yield b
    b.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn in a thread of the test process, on 127.0.0.1 and a free port."""

    def __init__(self, app, port: int) -> None:
        import uvicorn

        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=10
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def live(app) -> LiveServer:
    return LiveServer(app, free_port())


@pytest.fixture(scope="session")
def tiny_model_2k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with room for the clinical prompt and a full assessment (2048 positions)."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny2k") / "model", max_position_embeddings=2048)


@pytest.fixture
def serve(tiny_model: Path, tiny_model_2k: Path, tmp_path: Path) -> Iterator:
    """serve(**settings) → a started LiveServer for the tiny model (stopped after the test);
    serve(long=True, ...) serves the 2048-position one."""
    from medgo.serve.app import create_app
    from medgo.serve.settings import ServeSettings

    started: list[LiveServer] = []

    def _start(engine=None, long: bool = False, **kw) -> LiveServer:
        kw.setdefault("audit_log", tmp_path / "audit.jsonl")
        settings = ServeSettings(**kw)
        model = tiny_model_2k if long else tiny_model
        srv = live(create_app(settings, model_dir=model, engine=engine)).__enter__()
        started.append(srv)
        return srv

    yield _start
    for s in started:
        s.__exit__(None, None, None)
