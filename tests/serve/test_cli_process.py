"""`medgo serve` as a real process: CLI wiring, refusing an open bind without a key, graceful shutdown."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import openai
import pytest
import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _medgo(*args: str, **kw) -> subprocess.Popen:
    exe = [sys.executable, "-c", "from medgo.cli.main import main; main()", *args]
    return subprocess.Popen(exe, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def test_refuses_public_bind_without_key(tiny_model) -> None:
    p = _medgo("serve", str(tiny_model), "--host", "0.0.0.0", "--port", str(free_port()))
    out, _ = p.communicate(timeout=120)
    assert p.returncode == 2 and "without an API key" in out


def test_export_requires_a_format(tiny_model) -> None:
    p = _medgo("export", str(tiny_model))
    out, _ = p.communicate(timeout=120)
    assert p.returncode == 2 and "--gguf" in out


@pytest.mark.slow
def test_sigterm_finishes_inflight_stream(tiny_model, tmp_path) -> None:
    port = free_port()
    env = {**os.environ, "MEDGO_API_KEYS": "k1"}
    p = _medgo(
        "serve", str(tiny_model), "--port", str(port), "--audit-log", str(tmp_path / "a.jsonl"), env=env
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline and p.poll() is None, "server did not start"
            time.sleep(0.2)
        c = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="k1", max_retries=0)
        stream = c.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "胸痛"}],
            max_tokens=60,
            temperature=1.0,
            seed=1,
            stream=True,
        )
        pieces, finish = [], None
        for i, chunk in enumerate(stream):
            if i == 2:
                p.send_signal(signal.SIGTERM)  # mid-stream
            for ch in chunk.choices:
                pieces.append(ch.delta.content or "")
                finish = ch.finish_reason or finish
        assert finish in ("length", "stop")
        # uvicorn re-raises the signal after its graceful shutdown, so the exit is "killed by SIGTERM".
        assert p.wait(timeout=60) in (0, -signal.SIGTERM)
    finally:
        if p.poll() is None:
            p.kill()
