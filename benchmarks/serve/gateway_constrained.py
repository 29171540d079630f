"""Two costs of issue #15's serving front, measured in one run and merged into results.json:

gateway_overhead: a real llama.cpp server (llama-cpp-python's OpenAI server on a GGUF exported from the bench
    model) hit directly by 16 concurrent streaming clients, against the same server behind `medgo serve
    --upstream` (a separate process: auth, limits, audit log, metrics in the path). Same prompts, greedy, same
    max_tokens; completion tokens counted by tokenizing the returned text the same way for both. Direct and
    gateway rounds alternate; ratio = gateway tokens/s / direct tokens/s per repeat.
constrained_decoding: the transformers continuous-batching engine in process, 16 rows, the genuine Qwen2
    vocabulary (151,665 tokens: the mask is as large as a real model's), free sampling against sampling under
    a JSON schema whose one string is longer than the budget (so both runs decode exactly the same number of
    tokens per row and only the per-token grammar cost differs). Also reported: the clinical assessment
    schema (answers end when the document does, so rows leave at different steps).

    nice -n 5 python benchmarks/serve/gateway_constrained.py --repeats 3 --out benchmarks/serve/results.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench import build_model, cpu_seconds, free_port  # noqa: E402

from medgo.machine import cpu_name  # noqa: E402

PROMPTS = ["胸痛三天怎么办？", "高血压吃什么药？", "糖尿病饮食注意什么？", "发热咳嗽怎么办？", "头痛伴呕吐",
           "腹痛腹泻两天", "气促加重一周", "心悸乏力"]


def spread(xs: list[float]) -> dict:
    return {"median": round(statistics.median(xs), 4), "min": round(min(xs), 4), "max": round(max(xs), 4),
            "runs": [round(x, 4) for x in xs]}


async def load(url: str, key: str, prompts: list[str], clients: int, per_client: int, max_tokens: int,
               count) -> float:
    """tokens/s of `clients` streaming /v1/completions clients, each sending `per_client` requests."""
    async with httpx.AsyncClient(timeout=300, limits=httpx.Limits(max_connections=clients + 4)) as c:
        async def one(i: int) -> int:
            n = 0
            for j in range(per_client):
                body = {"prompt": prompts[(i + j) % len(prompts)], "max_tokens": max_tokens, "temperature": 0,
                        "stream": True, "model": "m"}
                text = []
                async with c.stream("POST", url + "/v1/completions", json=body,
                                    headers={"Authorization": f"Bearer {key}"}) as r:
                    r.raise_for_status()
                    async for line in r.aiter_lines():
                        if line.startswith("data:") and "[DONE]" not in line:
                            for ch in json.loads(line[5:]).get("choices") or []:
                                text.append(ch.get("text") or "")
                n += count("".join(text))
            return n

        t0 = time.perf_counter()
        tokens = sum(await asyncio.gather(*(one(i) for i in range(clients))))
        return tokens / (time.perf_counter() - t0)


def wait_ready(url: str, key: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited: {proc.returncode}")
        try:
            if httpx.get(url + "/v1/models", headers={"Authorization": f"Bearer {key}"}, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} not ready")


def gateway_overhead(args, work: Path) -> dict:
    from medgo.inference.upstream import llamacpp_process
    from medgo.model.export import export_gguf
    from medgo.model.tokenizer import load_tokenizer

    model = build_model(work / "model", args.hidden, args.layers)
    gguf = export_gguf(model, work / "gguf", "f16")
    tok = load_tokenizer(model)
    prompts = [tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
               for p in PROMPTS]
    upstream = llamacpp_process(gguf, threads=args.threads, n_ctx=1024, log_file=work / "llama.log")
    upstream.start()
    port, key = free_port(), "sk-bench"
    gw = subprocess.Popen([sys.executable, "-m", "medgo.cli.main", "serve", str(model), "--port", str(port),
                           "--api-key", key, "--upstream", upstream.url, "--upstream-key", upstream.api_key,
                           "--upstream-flavor", "llamacpp", "--audit-log", str(work / "audit.jsonl"),
                           "--rate-limit", "0"], stdout=subprocess.DEVNULL, stderr=open(work / "gw.log", "wb"))
    gurl = f"http://127.0.0.1:{port}"

    def count(text: str) -> int:
        return len(tok.encode(text, add_special_tokens=False))

    try:
        wait_ready(gurl, key, gw)
        run = lambda url, k: asyncio.run(load(url, k, prompts, args.clients, args.per_client, args.max_tokens, count))  # noqa: E731
        run(upstream.url, upstream.api_key)  # warm-up both paths
        run(gurl, key)
        direct, via, ratios, gw_cpu, up_cpu = [], [], [], [], []
        for r in range(args.repeats):
            order = [("direct", upstream.url, upstream.api_key), ("gateway", gurl, key)]
            got = {}
            for name, url, k in (order if r % 2 == 0 else order[::-1]):
                c0, u0, t0 = cpu_seconds(gw.pid), cpu_seconds(upstream.proc.pid), time.perf_counter()
                got[name] = run(url, k)
                if name == "gateway":  # CPU-seconds per wall second of each process during the gateway round
                    wall = time.perf_counter() - t0
                    gw_cpu.append((cpu_seconds(gw.pid) - c0) / wall)
                    up_cpu.append((cpu_seconds(upstream.proc.pid) - u0) / wall)
            direct.append(got["direct"])
            via.append(got["gateway"])
            ratios.append(got["gateway"] / got["direct"])
            print(f"repeat {r}: direct {got['direct']:.0f} tok/s, gateway {got['gateway']:.0f} tok/s, "
                  f"ratio {ratios[-1]:.3f}; gateway CPU {gw_cpu[-1]:.2f}, upstream CPU {up_cpu[-1]:.2f}, "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        gw.terminate()
        gw.wait(30)
        upstream.stop()
    return {"clients": args.clients, "per_client": args.per_client, "max_tokens": args.max_tokens,
            "upstream": f"llama-cpp-python server, f16 GGUF, n_threads={args.threads}",
            "direct_tokens_per_s": spread(direct), "gateway_tokens_per_s": spread(via),
            "gateway_over_direct": spread(ratios), "gateway_cpu_per_wall_s": spread(gw_cpu),
            "upstream_cpu_per_wall_s": spread(up_cpu), "target": ">= 0.90 (gateway costs at most 10%)"}


def constrained_cost(args, work: Path) -> dict:
    import torch

    from medgo.config.schema import ModelConfig, TinyModelConfig
    from medgo.inference.base import GenerationParams
    from medgo.inference.hf import HFEngine
    from medgo.inference.hf_continuous import HFContinuousEngine
    from medgo.model.factory import build_tiny_qwen2
    from medgo.model.tokenizer import build_qwen2_tokenizer
    from medgo.serve.clinical import DECODING_CONSTRAINT

    tok = build_qwen2_tokenizer()
    h = args.c_hidden
    tiny = TinyModelConfig(hidden_size=h, intermediate_size=h * 11 // 4, num_hidden_layers=args.c_layers,
                           num_attention_heads=max(1, h // 32), num_key_value_heads=max(1, h // 64),
                           max_position_embeddings=2048)
    out = work / "qwen2vocab"
    build_tiny_qwen2(ModelConfig(tiny=tiny), tok, seed=0).save_pretrained(out)
    tok.save_pretrained(out)
    torch.set_num_threads(args.threads)
    eng = HFContinuousEngine(HFEngine.from_path(out), threads=args.threads, max_batch=args.clients)
    eng.start()
    long_string = {"type": "json_schema", "schema": {
        "type": "object", "properties": {"note": {"type": "string", "minLength": 4000}}, "required": ["note"]}}

    cpu = {}

    async def run(constraint, n_tokens: int) -> tuple[float, int]:
        ids = [eng.encode(eng.render([{"role": "user", "content": p}])) for p in PROMPTS]
        t0, c0 = time.perf_counter(), time.process_time()
        streams = [eng.submit(ids[i % len(ids)], GenerationParams(max_new_tokens=n_tokens, temperature=0.8, seed=i,
                                                                  constraint=constraint), "b", i)
                   for i in range(args.clients)]
        res = await asyncio.gather(*(s.collect() for s in streams))
        toks = sum(f.completion_tokens for _, f in res)
        cpu["last"] = toks / (time.process_time() - c0)  # tokens per CPU-second of this process (all threads)
        if constraint is DECODING_CONSTRAINT:
            from medgo.serve.clinical import parse_constrained

            assert all(parse_constrained(t) is not None for t, _ in res)
        return toks / (time.perf_counter() - t0), toks

    try:
        asyncio.run(run(None, 8))
        asyncio.run(run(long_string, 8))
        free, cons, ratios, clin, cpu_ratios = [], [], [], [], []
        for r in range(args.repeats):
            got, per_cpu = {}, {}
            for name, c in ((("free", None), ("constrained", long_string)) if r % 2 == 0
                            else (("constrained", long_string), ("free", None))):
                got[name] = asyncio.run(run(c, args.c_tokens))
                per_cpu[name] = cpu["last"]
            cpu_ratios.append(per_cpu["constrained"] / per_cpu["free"])
            free.append(got["free"][0])
            cons.append(got["constrained"][0])
            ratios.append(got["constrained"][0] / got["free"][0])
            clin.append(asyncio.run(run(DECODING_CONSTRAINT, 512))[0])
            print(f"repeat {r}: free {free[-1]:.0f} tok/s, constrained {cons[-1]:.0f} tok/s ({got['constrained'][1]} "
                  f"vs {got['free'][1]} tokens), ratio {ratios[-1]:.3f}, per CPU-s {cpu_ratios[-1]:.3f}; clinical schema {clin[-1]:.0f} tok/s",
                  flush=True)
    finally:
        eng.shutdown()
    return {"rows": args.clients, "tokens_per_row": args.c_tokens, "vocab": len(tok),
            "model": f"Qwen2 shape hidden {h}, {args.c_layers} layers, float32, random weights",
            "free_tokens_per_s": spread(free), "constrained_tokens_per_s": spread(cons),
            "constrained_over_free": spread(ratios), "constrained_over_free_per_cpu_s": spread(cpu_ratios),
            "clinical_schema_tokens_per_s": spread(clin),
            "target": ">= 0.85 (constrained decoding costs at most 15%)"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--per-client", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=512, help="upstream model (gateway overhead)")
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--c-hidden", type=int, default=256)
    ap.add_argument("--c-layers", type=int, default=4)
    ap.add_argument("--c-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", choices=["gateway", "constrained"], default=None)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--work", type=Path, default=None, help="keep models and logs here (default: a temp dir)")
    args = ap.parse_args()
    meta = {"machine": {"processor": cpu_name(), "cpus": os.cpu_count(), "platform": platform.platform(),
                        "python": platform.python_version(), "load_average_start": os.getloadavg()},
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": "python " + " ".join(sys.argv)}
    out: dict = {}
    with tempfile.TemporaryDirectory() as d:
        work = args.work or Path(d)
        work.mkdir(parents=True, exist_ok=True)
        if args.only in (None, "gateway"):
            out["gateway_overhead"] = {**meta, **gateway_overhead(args, work)}
        if args.only in (None, "constrained"):
            out["constrained_decoding"] = {**meta, **constrained_cost(args, work)}
    print(json.dumps(out, indent=1, ensure_ascii=False))
    if args.out:
        prev = json.loads(args.out.read_text("utf-8")) if args.out.is_file() else {}
        prev.update(out)
        args.out.write_text(json.dumps(prev, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
