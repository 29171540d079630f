"""Continuous batching: rows that join a running batch, leave it early, or are cancelled get exactly the
logits and tokens they would get alone; sampling settings mix in one batch; unsupported caches fall back."""

from __future__ import annotations

import asyncio

import pytest
import torch

from medgo.inference.base import GenerationParams
from medgo.inference.hf import HFEngine
from medgo.inference.hf_batching import HFBatchingEngine
from medgo.inference.hf_continuous import HFContinuousEngine
from medgo.inference.registry import load_serving_engine
from medgo.inference.streams import Finished, RequestStream
from medgo.inference.worker import Slot, batch_key


@pytest.fixture(scope="module")
def hf(tiny_model) -> HFEngine:
    eng = HFEngine.from_path(tiny_model)
    with torch.no_grad():  # larger weights than the init's 0.02: varied tokens instead of one repeated
        for p in eng.model.parameters():
            p.mul_(8.0 if p.dim() > 1 else 1.0)
    return eng


class Recording(HFContinuousEngine):
    """Keeps the logits each row was given at each step."""

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.seen: dict[int, list[torch.Tensor]] = {}

    def _advance(self, batch, logits) -> None:
        for r, row in zip(batch.rows, logits, strict=True):
            self.seen.setdefault(id(r.slot), []).append(row.clone())
        super()._advance(batch, logits)


def _slot(ids: list[int], max_new: int, loop: asyncio.AbstractEventLoop) -> Slot:
    params = GenerationParams(max_new_tokens=max_new)
    return Slot(ids, params, RequestStream(loop), batch_key(params, "t"))


def test_joining_and_leaving_rows_get_their_solo_logits(hf) -> None:
    eng = Recording(hf, max_batch=8)
    loop = asyncio.new_event_loop()
    system = {"role": "system", "content": "你是一名临床医生，请根据病史给出诊断、鉴别诊断和下一步检查。"}
    enc = [
        hf.encode(hf.render([system, {"role": "user", "content": q}]))
        for q in ("胸痛三天，活动后加重", "发热", "糖尿病怎么控制血糖")
    ]
    a, b, c = _slot(enc[0], 4, loop), _slot(enc[1], 9, loop), _slot(enc[2], 6, loop)
    with torch.inference_mode():
        batch = eng._prefill([a])
        assert not eng._prefix_ids  # nothing seen before: no shared prefix yet
        eng._step(batch)
        batch.absorb(eng._prefill([b, c]))  # b and c join a batch whose cache is longer or shorter
        # b and c share the system prompt with a: its keys/values are computed once and reused
        assert (
            len(eng._prefix_ids) >= eng.MIN_SHARED_PREFIX
            and enc[1][: len(eng._prefix_ids)] == eng._prefix_ids
        )
        while batch.rows:  # a leaves after 4 tokens; the padding columns it needed are trimmed
            eng._step(batch)
            width = batch.mask.shape[1]
            assert batch.mask[:, 0].any() or not batch.rows, "a leading all-padding column was kept"
            assert all(layer.keys.shape[2] == width for layer in batch.cache.layers)
        for s in (a, b, c):
            full = torch.tensor([s.prompt_ids + s.tokens])
            ref = hf.model(input_ids=full).logits[0]
            got = torch.stack(eng.seen[id(s)])
            want = ref[len(s.prompt_ids) - 1 : len(s.prompt_ids) - 1 + len(got)]
            torch.testing.assert_close(got, want, atol=2e-4, rtol=1e-4)
    assert all(s.done for s in (a, b, c)) and len(a.tokens) <= 4 < len(b.tokens) <= 9
    assert len({tuple(s.tokens) for s in (a, b, c)}) == 3 and len(set(b.tokens)) > 1
    loop.close()


def test_staggered_requests_mix_greedy_and_seeded_sampling(hf) -> None:
    eng = HFContinuousEngine(hf, max_batch=8, batch_wait_ms=0)
    sizes: list[int] = []
    eng.on_batch = sizes.append
    eng.start()
    prompts = [
        [{"role": "user", "content": q}] for q in ("胸痛", "高血压吃什么药？", "发热咳嗽三天", "糖尿病")
    ]
    greedy = GenerationParams(max_new_tokens=12)
    seeded = GenerationParams(max_new_tokens=12, temperature=1.0, top_p=0.9, seed=11)
    try:
        want = hf.generate(prompts, greedy)

        async def one(p, params: GenerationParams, delay: float, index: int = 0) -> str:
            await asyncio.sleep(delay)
            text, _ = await eng.submit(eng.encode(eng.render(p)), params, "g", index).collect()
            return text

        async def crowd() -> list[str]:
            return await asyncio.gather(
                *(one(p, greedy, 0.004 * i) for i, p in enumerate(prompts)),
                one(prompts[0], seeded, 0.006),
                one(prompts[0], seeded, 0.008, index=1),
            )

        alone = asyncio.run(one(prompts[0], seeded, 0))
        got = asyncio.run(crowd())
    finally:
        eng.shutdown()
    assert got[:4] == [c.text for c in want]  # greedy rows that joined mid-run: as if alone
    assert got[4] == alone  # a seeded row samples the same whatever shares its batch
    assert got[5] != alone  # copy 1 of n gets its own stream of random numbers
    assert max(sizes) >= 3 and sizes.index(max(sizes)) > 0  # rows joined a batch already running


def test_cancelled_row_leaves_and_the_rest_finish(hf) -> None:
    eng = HFContinuousEngine(hf, max_batch=4, batch_wait_ms=5)
    eng.start()
    params = GenerationParams(max_new_tokens=40)
    ids = eng.encode(eng.render([{"role": "user", "content": "胸痛"}]))

    async def run():
        keep, drop = eng.submit(ids, params, "a"), eng.submit(ids, params, "b")
        events = [ev async for ev in _cancel_after_first(drop)]
        return events[-1], await keep.collect()

    try:
        dropped, (_, kept) = asyncio.run(run())
    finally:
        eng.shutdown()
    assert isinstance(dropped, Finished) and dropped.finish_reason == "cancelled"
    assert dropped.completion_tokens < 40 and kept.finish_reason == "length" and kept.completion_tokens == 40


async def _cancel_after_first(stream: RequestStream):
    async for ev in stream.events():
        stream.cancel()
        yield ev


def test_engine_choice(tiny_model, monkeypatch) -> None:
    assert isinstance(load_serving_engine("hf", tiny_model), HFContinuousEngine)
    assert type(load_serving_engine("hf", tiny_model, batching="static")) is HFBatchingEngine
    hf = HFEngine.from_path(tiny_model)
    hf.model.config.layer_types = ["sliding_attention"] * hf.model.config.num_hidden_layers
    hf.model.config.sliding_window = 8
    assert not HFContinuousEngine.supports(hf.model)  # sliding-window caches use the static engine
