"""Engine pieces: incremental decoding with stop strings, dynamic batching, the queue limit (503)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time

import requests
from fakes import ScriptedEngine

from medgo.inference.base import GenerationParams
from medgo.inference.hf_batching import HFBatchingEngine
from medgo.inference.streams import Finished, IncrementalDecoder


def test_incremental_decoder_holds_back_stop_prefixes() -> None:
    text = "甲乙丙STOP丁"
    dec = IncrementalDecoder(lambda ids: "".join(text[i] for i in ids), ["STOP"])
    out, hit = [], False
    for i in range(len(text)):
        piece, hit = dec.feed(i)
        out.append(piece)
        if hit:
            break
    assert hit and "".join(out) == "甲乙丙" and "S" not in out[3]
    # Incomplete UTF-8 (the replacement character at the end) is never emitted.
    dec = IncrementalDecoder(lambda ids: "ab\ufffd" if len(ids) == 1 else "ab中", [])
    assert dec.feed(0) == ("", False) and dec.feed(1) == ("ab中", False)


def test_dynamic_batching_matches_unbatched_greedy(tiny_model) -> None:
    eng = HFBatchingEngine.from_path(tiny_model, max_batch=8, batch_wait_ms=20)
    sizes: list[int] = []
    eng.on_batch = sizes.append
    prompts = [[{"role": "user", "content": q}] for q in ("胸痛", "高血压吃什么药？", "发热咳嗽三天")]
    want = eng.hf.generate(prompts, GenerationParams(max_new_tokens=8))

    async def run() -> list[tuple[str, Finished]]:
        streams = [
            eng.submit(eng.encode(eng.render(p)), GenerationParams(max_new_tokens=8), "t") for p in prompts
        ]
        eng.start()  # all three are queued before the worker looks: one batch, however loaded the machine
        return await asyncio.gather(*(s.collect() for s in streams))

    try:
        got = asyncio.run(run())
    finally:
        eng.shutdown()
    assert sizes == [3]  # the three concurrent requests shared one generate call
    assert [t for t, _ in got] == [c.text for c in want]
    assert [f.completion_tokens for _, f in got] == [c.completion_tokens for c in want]


class SlowEngine(ScriptedEngine):
    def __init__(self) -> None:
        super().__init__([])
        self.max_batch, self.max_queue = 2, 4
        self.release = threading.Event()

    def run_batch(self, slots) -> None:
        self.release.wait(10)
        for s in slots:
            s.stream.piece("好")
            s.done = True
            s.stream.finish(Finished("stop", len(s.prompt_ids), 1))


def test_full_queue_gives_503_and_nothing_else(serve) -> None:
    eng = SlowEngine()
    srv = serve(engine=eng, rate_limit_rpm=0)
    body = {"messages": [{"role": "user", "content": "胸痛"}], "max_tokens": 4}

    def call(_: int) -> int:
        r = requests.post(srv.url + "/v1/chat/completions", json=body, timeout=60)
        if r.status_code == 503:
            assert r.headers["Retry-After"] == "1"
        return r.status_code

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        futs = [pool.submit(call, i) for i in range(16)]
        time.sleep(1.0)
        eng.release.set()
        codes = [f.result() for f in futs]
    assert set(codes) <= {200, 503} and codes.count(200) >= 4 and codes.count(503) >= 1


def test_timeout_504_and_cors_off_by_default(serve) -> None:
    eng = SlowEngine()
    srv = serve(engine=eng, request_timeout_s=0.5)
    body = {"messages": [{"role": "user", "content": "胸痛"}], "max_tokens": 4}
    r = requests.post(srv.url + "/v1/chat/completions", json=body, timeout=30)
    eng.release.set()
    assert r.status_code == 504 and r.json()["error"]["code"] == "timeout"
    pre = requests.options(
        srv.url + "/v1/chat/completions",
        headers={"Origin": "http://elsewhere.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in {k.lower() for k in pre.headers}
    unknown = requests.get(srv.url + "/v1/nothing")
    assert unknown.status_code == 404 and "error" in unknown.json()
