"""FSDP on CPU, two processes (gloo): what a sharded run must do, proved without a GPU.

accelerate 1.15 runs an FSDP config on CPU as plain DDP: `AcceleratorState` switches to FSDP only for GPU-like
device types (state.py: MULTI_GPU/NPU/XPU/...; MULTI_CPU is not among them), so `accelerate launch` with
configs/accelerate/fsdp_full_shard.yaml and `use_cpu: true` trains unsharded with no error (medgo refuses that
combination, see tests/train/test_ddp.py). So this test shards a tiny Qwen2 with torch's FSDP2 `fully_shard`
(the call accelerate makes for `fsdp_version: 2`, Qwen2DecoderLayer units as in the preset) and checkpoints with
torch.distributed.checkpoint (what accelerate's SHARDED_STATE_DICT saves are made of), then:

- the 2-process loss curve equals the 1-process curve at the same global batch (within 1e-4);
- a worker killed with SIGKILL mid-run resumes from the last complete sharded checkpoint and ends on the same
  losses and weights as the uninterrupted run;
- the final save goes through medgo.train.distributed (gather_state_dict -> materialize -> save_final): every
  rank joins the gather, rank 0 writes a plain model that `from_pretrained` loads, with the 1-process weights.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

STEPS, GLOBAL_BATCH, SEQ = 6, 4, 24


def _setup():
    from medgo.config.schema import ModelConfig, TinyModelConfig
    from medgo.model.factory import build_tiny_qwen2
    from medgo.model.tokenizer import train_bpe_tokenizer

    tok = train_bpe_tokenizer(["高血压患者应低盐饮食。", "糖尿病需监测血糖。", "头痛怎么办？"] * 20, vocab_size=300)
    mc = ModelConfig(tiny=TinyModelConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                          num_attention_heads=4, num_key_value_heads=2))
    model = build_tiny_qwen2(mc, tok, seed=0)
    g = torch.Generator().manual_seed(0)
    data = torch.randint(3, len(tok), (STEPS * GLOBAL_BATCH, SEQ), generator=g)
    return tok, model, data


def _step_loss(model, rows: torch.Tensor, scale: float) -> torch.Tensor:
    """Sum of token losses over `rows` divided by the global batch's target count, times `scale`."""
    logits = model(input_ids=rows, use_cache=False).logits[:, :-1].float()
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), rows[:, 1:].reshape(-1),
                                             reduction="sum")
    return loss * scale / (GLOBAL_BATCH * (SEQ - 1))


def reference(out: Path) -> None:
    """One process, no sharding: the loss curve and the final weights a sharded run must reproduce."""
    from medgo.train.common import save_final

    tok, model, data = _setup()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for step in range(STEPS):
        loss = _step_loss(model, data[step * GLOBAL_BATCH:(step + 1) * GLOBAL_BATCH], 1.0)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    save_final(model, tok, out)
    (out / "losses.json").write_text(json.dumps(losses))


def worker(out: Path) -> None:
    """One rank of the sharded run (under torchrun): resumes from the newest complete checkpoint."""
    import torch.distributed as dist
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import (
        get_model_state_dict,
        get_optimizer_state_dict,
        set_model_state_dict,
        set_optimizer_state_dict,
    )
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    from medgo.train.common import save_final
    from medgo.train.distributed import gather_state_dict, materialize

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    (out / f"pid{rank}").write_text(str(os.getpid()))
    tok, model, data = _setup()
    mesh = init_device_mesh("cpu", (world,))
    for layer in model.model.layers:
        fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    ckpts = out / "checkpoints"
    done = sorted(int(p.name.split("-")[1]) for p in ckpts.glob("step-*") if (p / ".metadata").is_file())
    start = 0
    if done:  # a checkpoint counts once DCP has written its .metadata (last); a half-written one is skipped
        state = {"model": get_model_state_dict(model), "optim": get_optimizer_state_dict(model, opt)}
        dcp.load(state, checkpoint_id=str(ckpts / f"step-{done[-1]}"))
        set_model_state_dict(model, state["model"])
        set_optimizer_state_dict(model, opt, state["optim"])
        start = done[-1] + 1
    delay = float(os.environ.get("STEP_DELAY", "0"))
    for step in range(start, STEPS):
        batch = data[step * GLOBAL_BATCH:(step + 1) * GLOBAL_BATCH]
        # each rank its rows; FSDP averages gradients over ranks, so scale the local sum by the world size
        loss = _step_loss(model, batch[rank::world], float(world))
        loss.backward()
        opt.step()
        opt.zero_grad()
        total = loss.detach() / world
        dist.all_reduce(total)
        dcp.save({"model": get_model_state_dict(model), "optim": get_optimizer_state_dict(model, opt)},
                 checkpoint_id=str(ckpts / f"step-{step}"))
        if rank == 0:
            with (out / "losses.jsonl").open("a") as f:
                f.write(json.dumps({"step": step, "loss": total.item()}) + "\n")
        time.sleep(delay)
    sd = gather_state_dict(model)  # a collective: every rank
    if rank == 0:
        save_final(materialize(model, sd), tok, out)
    dist.barrier()
    dist.destroy_process_group()


def _torchrun(out: Path, port: int, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(port),
         __file__, "worker", str(out)],
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path), **env},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _losses(out: Path) -> list[float]:
    last: dict[int, float] = {}
    for line in (out / "losses.jsonl").read_text().splitlines():
        r = json.loads(line)
        last[r["step"]] = r["loss"]  # a step re-run after the kill counts once, as re-run
    return [last[s] for s in sorted(last)]


def test_two_process_fsdp_matches_one_process_and_resumes_after_kill_9(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    ref = tmp_path / "ref"
    reference(ref)
    out = tmp_path / "fsdp"
    out.mkdir()
    run = _torchrun(out, _free_port(), {"STEP_DELAY": "0.8"})
    deadline = time.time() + 240
    while time.time() < deadline and run.poll() is None:
        if (out / "losses.jsonl").is_file() and len((out / "losses.jsonl").read_text().splitlines()) >= 3:
            os.kill(int((out / "pid1").read_text()), signal.SIGKILL)  # kill -9 one worker mid-run
            break
        time.sleep(0.2)
    log = run.communicate(timeout=120)[0]
    assert run.returncode != 0, log  # the run died with its worker
    killed_at = len(_losses(out))
    assert 3 <= killed_at < STEPS, log
    resumed = _torchrun(out, _free_port(), {})
    log = resumed.communicate(timeout=300)[0]
    assert resumed.returncode == 0, log
    got, want = _losses(out), json.loads((ref / "losses.json").read_text())
    assert len(got) == STEPS and all(abs(a - b) < 1e-4 for a, b in zip(got, want, strict=True)), (got, want)

    x = torch.tensor([[5, 9, 17, 33, 41, 60, 77, 80]])
    with torch.no_grad():
        a = AutoModelForCausalLM.from_pretrained(str(out / "model"))(input_ids=x).logits
        b = AutoModelForCausalLM.from_pretrained(str(ref / "model"))(input_ids=x).logits
    assert torch.allclose(a, b, atol=1e-4), (a - b).abs().max()
    assert (out / "model" / "tokenizer_config.json").is_file()


if __name__ == "__main__":
    if sys.argv[1] == "worker":
        worker(Path(sys.argv[2]))
