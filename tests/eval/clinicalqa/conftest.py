"""Fixtures: a scripted OpenAI-compatible judge on 127.0.0.1 (stdlib HTTP server,
reached through the real openai client) whose replies each test decides."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

# reply(user_prompt, n_call) -> (status, content, delay_s)
Reply = Callable[[str, int], tuple[int, str, float]]


class ScriptedJudge:
    def __init__(self) -> None:
        self.reply: Reply = lambda p, n: (200, "{}", 0.0)
        self.calls = 0
        self.prompts: list[str] = []
        self.lock = threading.Lock()
        judge = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with judge.lock:
                    judge.calls += 1
                    n = judge.calls
                    judge.prompts.append(body["messages"][-1]["content"])
                status, content, delay = judge.reply(body["messages"][-1]["content"], n)
                time.sleep(delay)
                if status != 200:
                    data = json.dumps({"error": {"message": "scripted"}}).encode()
                else:
                    data = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                                       "choices": [{"index": 0, "finish_reason": "stop",
                                                    "message": {"role": "assistant", "content": content}}],
                                       "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

            def log_message(self, *a: object) -> None:
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.srv.server_port}/v1"


@pytest.fixture
def judge_server() -> Iterator[ScriptedJudge]:
    j = ScriptedJudge()
    th = threading.Thread(target=j.srv.serve_forever, daemon=True)
    th.start()
    try:
        yield j
    finally:
        j.srv.shutdown()
        j.srv.server_close()
