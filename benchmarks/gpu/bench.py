"""The GPU check, driven by benchmarks/gpu/run.sh: a Qwen2-0.5B-shaped checkpoint at full size, pretrain (document
packing, flash attention), SFT and DPO for a few dozen steps each in bf16, greedy generation by vLLM and by
transformers on the same prompts (outputs compared), serving through vLLM behind medgo, and the figures
(tokens/s, MFU, peak memory, parity) in results.json.

`--cpu-dry-run` runs the same steps at tiny sizes on CPU (1 layer, width 64, 3 steps, sdpa, fp32); the steps
that need a GPU (vLLM generation and serving) are recorded as skipped with the reason, and serving goes through
medgo's transformers engine instead, so everything around them is exercised.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROMPTS = ["头痛怎么办？", "高血压患者饮食要注意什么？", "糖尿病可以吃水果吗？", "咳嗽一周不好需要去医院吗？",
           "布洛芬和对乙酰氨基酚有什么区别？", "孩子发烧38.5度怎么处理？", "失眠有哪些非药物方法？", "胃痛吃什么药？"]


def sh(*cmd: str, **kw) -> subprocess.CompletedProcess:
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def flash_available() -> bool:
    try:
        import flash_attn  # noqa: F401
    except ImportError:
        return False
    return True


def write_config(out: Path, ckpt: Path, gpu: bool, steps: int) -> Path:
    d = REPO / "data" / "demo"
    if not gpu:  # the dry run: a few rows of each file (DPO precomputes reference log-probs over all pairs)
        sub = out / "data"
        sub.mkdir(exist_ok=True)
        for name, n in (("corpus.jsonl", 60), ("sft.jsonl", 24), ("preference.jsonl", 8), ("eval_cls.jsonl", 12)):
            lines = (d / name).read_text(encoding="utf-8").splitlines(keepends=True)
            (sub / name).write_text("".join(lines[:n]), encoding="utf-8")
        d = sub
    size = {"block": 2048, "batch": 4, "len": 1024} if gpu else {"block": 64, "batch": 2, "len": 128}
    stage = (f"  max_steps: {steps}\n  per_device_batch_size: {size['batch']}\n  logging_steps: 1\n"
             f"  save_steps: 1000\n  bf16: {str(gpu).lower()}\n  learning_rate: 1.0e-5\n")
    text = f"""name: gpu-check
seed: 0
output_dir: {out / 'runs'}
data:
  corpus: [{d / 'corpus.jsonl'}]
  sft: [{d / 'sft.jsonl'}]
  preference: [{d / 'preference.jsonl'}]
  eval_cls: {d / 'eval_cls.jsonl'}
  heldout_fraction: 0.05
tokenizer:
  type: pretrained
model:
  base: {ckpt}
  dtype: {'bfloat16' if gpu else 'float32'}
  attn_implementation: {'flash_attention_2' if gpu and flash_available() else 'sdpa'}
  finetuning: full
pretrain:
  block_size: {size['block']}
  packing: document
{stage}sft:
  max_length: {size['len']}
  packing: true
{stage}preference:
  algorithm: dpo
  max_length: {size['len']}
{stage}"""
    path = out / "gpu-check.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def generate(backend: str, model_dir: Path, max_new_tokens: int) -> list[str]:
    from medgo.inference.base import GenerationParams
    from medgo.inference.registry import load_engine

    engine = load_engine(backend, str(model_dir), **({"dtype": "bfloat16"} if backend == "hf" and _gpu() else {}))
    params = GenerationParams(max_new_tokens=max_new_tokens, temperature=0.0)
    prompts = [[{"role": "user", "content": p}] for p in PROMPTS]
    return [c.text for c in engine.generate(prompts, params)]


def _gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_check(run_dir: Path, engine: str, timeout: float) -> dict:
    """`medgo serve` on a free port, one chat completion through the OpenAI route, then stop it."""
    import urllib.request

    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "medgo.cli.main", "serve", str(run_dir), "--engine", engine,
                             "--port", str(port), "--api-key", "check"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    t0 = time.time()
    try:
        while time.time() - t0 < timeout:
            if proc.poll() is not None:
                return {"ok": False, "error": f"server exited {proc.returncode}: {proc.stdout.read()[-2000:]}"}
            try:
                urllib.request.urlopen(urllib.request.Request(f"{url}/v1/models",
                                                              headers={"Authorization": "Bearer check"}), timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            return {"ok": False, "error": f"not up after {timeout}s"}
        up = time.time() - t0
        body = json.dumps({"model": "medgo", "messages": [{"role": "user", "content": PROMPTS[0]}],
                           "max_tokens": 16, "temperature": 0}).encode()
        req = urllib.request.Request(f"{url}/v1/chat/completions", data=body, headers={
            "Authorization": "Bearer check", "Content-Type": "application/json"})
        t1 = time.time()
        resp = json.loads(urllib.request.urlopen(req, timeout=120).read())
        return {"ok": bool(resp.get("choices")), "engine": engine, "startup_s": round(up, 1),
                "latency_s": round(time.time() - t1, 3), "completion_tokens": resp.get("usage", {}).get("completion_tokens")}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--cpu-dry-run", action="store_true")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--record", type=Path, default=None, help="also write the results here (benchmarks/gpu/results.json)")
    a = ap.parse_args()
    gpu = not a.cpu_dry_run
    if gpu and not _gpu():
        sys.exit("no CUDA GPU here: use --cpu-dry-run")
    out = a.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    steps = a.steps or (30 if gpu else 3)
    t_start = time.time()
    res: dict = {"mode": "gpu" if gpu else "cpu-dry-run", "host": platform.node(), "steps_per_stage": steps}
    if gpu:
        import torch

        res["gpu"] = torch.cuda.get_device_name(0)
        res["versions"] = {m: __import__(m).__version__ for m in ("torch", "transformers", "trl", "vllm", "deepspeed")}
        res["attention"] = "flash_attention_2" if flash_available() else "sdpa (flash-attn did not install)"

    ckpt = out / "qwen2-0.5b"
    if not (ckpt / "config.json").is_file():
        shape = [] if gpu else ["--layers", "1", "--hidden", "64"]
        sh(sys.executable, "-m", "medgo.cli.main", "model", "init", "--like", "qwen2-0.5b", "--out", str(ckpt), *shape)
    cfg_path = write_config(out, ckpt, gpu, steps)

    from medgo.config import load_config
    from medgo.pipeline.runner import run_pipeline

    t0 = time.time()
    rd, _ = run_pipeline(load_config(cfg_path), stages=["data", "tokenizer", "pretrain", "sft", "preference"])
    res["train_wall_s"] = round(time.time() - t0, 1)
    keys = ("steps", "first_loss", "last_loss", "tokens_per_s", "achieved_tflops", "mfu")
    res["stages"] = {}
    for s in ("pretrain", "sft", "preference"):
        m = rd.manifest(s) or {}
        mm = m.get("metrics", {})
        res["stages"][s] = {**{k: mm.get(k) for k in keys}, **{k: v for k, v in mm.items() if "peak" in k},
                            "wall_s": m.get("wall_time_s")}
    model_dir = rd.model_dir("preference")

    new_tokens = 32 if gpu else 8
    hf = generate("hf", model_dir, new_tokens)
    res["generation"] = {"prompts": len(PROMPTS), "max_new_tokens": new_tokens, "hf_nonempty": sum(bool(x) for x in hf)}
    if gpu:
        vl = generate("vllm", model_dir, new_tokens)
        same = sum(x == y for x, y in zip(hf, vl, strict=True))
        res["generation"].update({"vllm_vs_hf_identical": same, "parity": round(same / len(PROMPTS), 3),
                                  "examples": [{"prompt": p, "hf": x, "vllm": y} for p, x, y in zip(PROMPTS, hf, vl,
                                                                                                   strict=True)][:3]})
        res["serve"] = serve_check(rd.root, "vllm", timeout=240)
    else:
        res["generation"]["vllm"] = "skipped: vLLM needs a CUDA GPU"
        res["serve"] = serve_check(rd.root, "hf", timeout=120)
        res["serve"]["vllm"] = "skipped: vLLM needs a CUDA GPU"
    res["total_wall_s"] = round(time.time() - t_start, 1)
    text = json.dumps(res, ensure_ascii=False, indent=1)
    (out / "results.json").write_text(text, encoding="utf-8")
    if a.record:
        a.record.write_text(text, encoding="utf-8")
    print(text)
    ok = res["serve"].get("ok") and all(v.get("steps") == steps for v in res["stages"].values())
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
