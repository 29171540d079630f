"""Load test of `medgo serve` on loopback: throughput, time to first token and errors at 1/4/16/64 concurrent
streaming clients, for dynamic batching vs one-request-at-a-time (the peer), and the llama.cpp GGUF engine vs
transformers on the same tiny model. Every loop is bounded in request count and time.

    python benchmarks/serve/bench.py --repeats 3 --out benchmarks/serve/results.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from medgo.machine import cpu_name

TEXTS = [
    "患者男性，五十岁，反复胸痛三天，活动后加重。",
    "高血压患者应低盐饮食，规律服用降压药物。",
    "糖尿病患者需要控制血糖，可以使用二甲双胍治疗。",
    "发热伴咳嗽咳痰，考虑肺炎，建议胸部CT检查。",
] * 30
QUESTIONS = ["胸痛三天怎么办？", "高血压吃什么药？", "发热咳嗽是什么病？", "糖尿病要注意什么？"]


def build_model(out: Path, hidden: int, layers: int) -> Path:
    from medgo.config.schema import ModelConfig, TinyModelConfig
    from medgo.model.factory import build_tiny_qwen2
    from medgo.model.tokenizer import train_bpe_tokenizer

    tok = train_bpe_tokenizer(TEXTS, vocab_size=512)
    tiny = TinyModelConfig(
        hidden_size=hidden,
        intermediate_size=hidden * 11 // 4,
        num_hidden_layers=layers,
        num_attention_heads=max(1, hidden // 32),
        num_key_value_heads=max(1, hidden // 64),
        max_position_embeddings=1024,
    )
    model = build_tiny_qwen2(ModelConfig(tiny=tiny), tok, seed=0)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, target: Path, *extra: str) -> None:
        self.port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "medgo.cli.main",
            "serve",
            str(target),
            "--port",
            str(self.port),
            "--rate-limit",
            "0",
            "--api-key",
            "bench",
            *extra,
        ]
        env = {**os.environ, "MEDGO_LOG_LEVEL": "WARNING"}
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 180
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/health", timeout=1).ok:
                    return
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"server did not start: {cmd}")
            time.sleep(0.3)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def load(port: int, clients: int, per_client: int, max_tokens: int, time_cap: float) -> dict:
    """Streaming clients over raw HTTP: a light load generator, so the figures are the server's, not the cost
    of parsing every chunk into objects (the tests drive the same routes with the official openai client)."""
    import httpx2

    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    headers = {"Authorization": "Bearer bench"}
    ttfts: list[float] = []
    tokens, errors, refused = 0, 0, 0
    t0 = time.monotonic()
    limits = httpx2.Limits(max_connections=clients + 4, max_keepalive_connections=clients + 4)
    client = httpx2.AsyncClient(timeout=300, limits=limits)

    async def one_client(k: int) -> None:
        nonlocal tokens, errors, refused
        for i in range(per_client):
            if time.monotonic() - t0 > time_cap:
                return
            body = {
                "messages": [{"role": "user", "content": QUESTIONS[(k + i) % 4]}],
                "max_tokens": max_tokens,
                "temperature": 0,
                "stream": True,
                "stream_options": {"include_usage": True},
            }
            start, first, done = time.monotonic(), None, False
            try:
                async with client.stream("POST", url, json=body, headers=headers) as r:
                    if r.status_code in (429, 503):
                        refused += 1
                        continue
                    if r.status_code != 200:
                        errors += 1
                        continue
                    async for line in r.aiter_lines():
                        if not line.startswith("data: "):
                            continue
                        if first is None and '"content": "' in line and '"content": ""' not in line:
                            first = time.monotonic() - start
                        elif '"usage"' in line and '"choices": []' in line:
                            tokens += json.loads(line[6:])["usage"]["completion_tokens"]
                        elif line == "data: [DONE]":
                            done = True
                if not done:
                    errors += 1
                elif first is not None:
                    ttfts.append(first)
            except Exception:
                errors += 1

    await asyncio.gather(*(one_client(k) for k in range(clients)))
    wall = time.monotonic() - t0
    await client.aclose()
    q = sorted(ttfts)

    def pct(p: float) -> float | None:
        return q[min(len(q) - 1, int(p * len(q)))] if q else None

    return {
        "clients": clients,
        "requests": len(ttfts),
        "completion_tokens": tokens,
        "wall_s": round(wall, 3),
        "tokens_per_s": round(tokens / wall, 2),
        "ttft_p50_s": pct(0.5),
        "ttft_p95_s": pct(0.95),
        "errors": errors,
        "refused_429_503": refused,
    }


def batch_stats(port: int) -> tuple[float, float]:
    """(sum, count) of the server's medgo_batch_size histogram."""
    auth = {"Authorization": "Bearer bench"}
    text = requests.get(f"http://127.0.0.1:{port}/metrics", headers=auth, timeout=10).text
    vals = {}
    for line in text.splitlines():
        if line.startswith(("medgo_batch_size_sum", "medgo_batch_size_count")):
            k, v = line.split()
            vals[k] = float(v)
    return vals.get("medgo_batch_size_sum", 0.0), vals.get("medgo_batch_size_count", 0.0)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all threads: a cost measure that other jobs on the machine
    disturb far less than wall time."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def spread(xs: list[float]) -> dict:
    return {
        "median": round(statistics.median(xs), 3),
        "min": round(min(xs), 3),
        "max": round(max(xs), 3),
        "runs": [round(x, 3) for x in xs],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--levels", default="1,4,16,64")
    ap.add_argument("--per-client", type=int, default=2, help="requests each client sends")
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--time-cap", type=float, default=120, help="seconds per measurement, at most")
    ap.add_argument("--hidden", type=int, default=128, help="model width (128 = medgo's default tiny Qwen2)")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument(
        "--threads", type=int, default=1, help="CPU threads per server (the same for every engine)"
    )
    ap.add_argument("--no-gguf", action="store_true")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("results.json"))
    a = ap.parse_args()
    levels = [int(x) for x in a.levels.split(",")]
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    work = Path(tempfile.mkdtemp(prefix="medgo-bench-"))
    model = build_model(work / "model", a.hidden, a.layers)
    th = ["--threads", str(a.threads)]
    engines = {
        "hf_batched": (model, ["--max-batch", "16", *th]),  # continuous batching (the default)
        "hf_static": (model, ["--max-batch", "16", "--batching", "static", *th]),
        "hf_sequential": (model, ["--max-batch", "1", *th]),
    }
    if not a.no_gguf:
        try:
            import llama_cpp  # noqa: F401

            from medgo.model.export import export_gguf

            engines["llamacpp_f16"] = (export_gguf(model, work / "gguf", "f16"), th)
        except ImportError:
            print("llama-cpp-python not installed: skipping the GGUF engine", file=sys.stderr)
    raw: dict[str, dict[int, list[dict]]] = {e: {n: [] for n in levels} for e in engines}
    for r in range(a.repeats):
        # All engines up at once, measured back to back per level: the ratios compare runs seconds apart,
        # which matters on a CPU shared with other work.
        servers = {name: Server(target, *extra) for name, (target, extra) in engines.items()}
        try:
            for srv in servers.values():
                asyncio.run(load(srv.port, 2, 1, a.max_tokens, 30))  # warm-up
            for n in levels:
                for name, srv in servers.items():
                    before, cpu0 = batch_stats(srv.port), cpu_seconds(srv.proc.pid)
                    res = asyncio.run(load(srv.port, n, a.per_client, a.max_tokens, a.time_cap))
                    after, cpu1 = batch_stats(srv.port), cpu_seconds(srv.proc.pid)
                    res["server_cpu_s"] = round(cpu1 - cpu0, 3)
                    res["tokens_per_cpu_s"] = round(res["completion_tokens"] / max(cpu1 - cpu0, 1e-3), 1)
                    batches = after[1] - before[1]
                    res["mean_batch_size"] = round((after[0] - before[0]) / batches, 2) if batches else None
                    raw[name][n].append(res)
                    print(
                        f"repeat {r} {name:14s} clients={n:3d} {res['tokens_per_s']:8.1f} tok/s "
                        f"({res['tokens_per_cpu_s']:.0f}/cpu-s) ttft p50={res['ttft_p50_s']} batch={res['mean_batch_size']} errors={res['errors']} "
                        f"refused={res['refused_429_503']}",
                        file=sys.stderr,
                    )
        finally:
            for srv in servers.values():
                srv.stop()
    summary = {
        e: {
            str(n): {
                "tokens_per_s": spread([x["tokens_per_s"] for x in runs]),
                "tokens_per_server_cpu_s": spread([x["tokens_per_cpu_s"] for x in runs]),
                "ttft_p50_s": spread([x["ttft_p50_s"] or 0 for x in runs]),
                "ttft_p95_s": spread([x["ttft_p95_s"] or 0 for x in runs]),
                "errors": sum(x["errors"] for x in runs),
                "refused_429_503": sum(x["refused_429_503"] for x in runs),
            }
            for n, runs in per.items()
        }
        for e, per in raw.items()
    }
    ratios = {}
    for n in levels:
        ratios[f"batched_vs_sequential@{n}"] = spread(
            [
                b["tokens_per_s"] / s["tokens_per_s"]
                for b, s in zip(raw["hf_batched"][n], raw["hf_sequential"][n], strict=True)
            ]
        )
        ratios[f"batched_vs_sequential_per_cpu_s@{n}"] = spread(
            [
                b["tokens_per_cpu_s"] / s["tokens_per_cpu_s"]
                for b, s in zip(raw["hf_batched"][n], raw["hf_sequential"][n], strict=True)
            ]
        )
        ratios[f"static_vs_sequential@{n}"] = spread(
            [
                b["tokens_per_s"] / s["tokens_per_s"]
                for b, s in zip(raw["hf_static"][n], raw["hf_sequential"][n], strict=True)
            ]
        )
        if "llamacpp_f16" in raw:
            ratios[f"llamacpp_vs_hf_sequential@{n}"] = spread(
                [
                    g["tokens_per_s"] / s["tokens_per_s"]
                    for g, s in zip(raw["llamacpp_f16"][n], raw["hf_sequential"][n], strict=True)
                ]
            )
    out = {
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "processor": cpu_name(),
            "load_average_at_start": load_at_start,
            "niceness": os.nice(0),
        },
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": "python benchmarks/serve/bench.py " + " ".join(sys.argv[1:]),
        "model": f"tiny Qwen2 (hidden {a.hidden}, {a.layers} layers, vocab 512, float32), greedy, streaming, "
        f"max_tokens={a.max_tokens}, {a.per_client} requests per client",
        "threads": a.threads,
        "peer": "hf_sequential: the same server with --max-batch 1 (one request at a time); hf_batched is "
        "continuous batching (rows join and leave every step), hf_static one generate call per batch",
        "ratio": ratios,
        "summary": summary,
        "raw": raw,
    }
    a.out.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(ratios, indent=2))


if __name__ == "__main__":
    main()
