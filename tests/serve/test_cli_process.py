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


def _engine_processes(needle: str) -> list[str]:
    out = subprocess.run(["ps", "-eww", "-o", "args"], capture_output=True, text=True).stdout
    return [ln for ln in out.splitlines() if needle in ln and "llama_cpp.server" in ln]


def test_supervised_llama_cpp_server_behind_the_cli(tiny_model, tmp_path) -> None:
    pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python[server] not installed")
    from medgo.model.export import export_gguf

    gguf = export_gguf(tiny_model, tmp_path / "export", "f16")
    port = free_port()
    p = _medgo("serve", str(gguf), "--engine", "llamacpp-server", "--tokenizer", str(tiny_model), "--port", str(port),
               "--api-key", "k1", "--threads", "1", "--engine-log", str(tmp_path / "engine.log"))
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).json()["engine"] == "upstream:llamacpp":
                    break
            except requests.RequestException:
                pass
            assert p.poll() is None and time.monotonic() < deadline, p.stdout.read() if p.poll() is not None else ""
            time.sleep(0.3)
        assert _engine_processes(str(gguf))  # medgo started llama.cpp's server
        c = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="k1", max_retries=0)
        assert [m.id for m in c.models.list().data] == [gguf.stem]
        r = c.chat.completions.create(model=gguf.stem, messages=[{"role": "user", "content": "胸痛"}], max_tokens=6)
        assert r.usage.completion_tokens > 0
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(60)
    deadline = time.monotonic() + 20
    while _engine_processes(str(gguf)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _engine_processes(str(gguf))  # and stopped it with itself
