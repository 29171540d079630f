"""Multi-process training through `accelerate launch` (DDP, FSDP, DeepSpeed ZeRO), used when a training
stage sets `num_processes > 1`. The parent builds the command; each worker runs the same stage code.

Multi-node: the same `medgo run` on every node, one run folder on shared storage. Node 0
(MEDGO_MACHINE_RANK=0 or unset) runs every stage as on one machine. Any other node runs no stage itself: for
a distributed training stage it starts its own share of the processes once node 0 has prepared the stage
folder (its fingerprint file says the same fingerprint), and for every stage it waits until node 0 has marked
it done with that fingerprint. So data, tokenizer, eval and report run once, and only node 0 writes manifests
or clears stage folders. The joining processes always look for a checkpoint to resume from: node 0 has either
cleared the folder (a fresh start: none found) or kept it (a resume: the same newest checkpoint node 0's
processes find), and no process saves one before all of them have met at the rendezvous."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

from medgo.config.schema import RunConfig
from medgo.errors import MedgoError
from medgo.log import console
from medgo.run_dir import FINGERPRINT, TRAIN_STAGES, RunDir
from medgo.stage import StageContext, StageResult

RESULT = ".result.json"


def machine_rank() -> int:
    """This node's rank in a multi-node run (MEDGO_MACHINE_RANK; 0 when unset)."""
    return int(os.environ.get("MEDGO_MACHINE_RANK") or 0)


def accelerate_distributed_type(path: str | None) -> str | None:
    if not path or not Path(path).is_file():
        return None
    import yaml

    return (yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}).get("distributed_type")


def check_launchable(cfg: RunConfig, name: str) -> None:
    """accelerate runs an FSDP config on a machine without GPUs as plain DDP, silently (its AcceleratorState
    enables FSDP for GPU-like devices only): every rank would hold the whole model. Refuse it up front."""
    t = getattr(cfg, name)
    if accelerate_distributed_type(t.accelerate_config) == "FSDP" and not torch.cuda.is_available():
        raise MedgoError(
            f"{name}.accelerate_config={t.accelerate_config} is FSDP, and accelerate runs FSDP only on GPUs "
            "(on CPU it falls back to unsharded DDP without an error)",
            hint=f"drop {name}.accelerate_config for DDP on CPU, or run on GPUs",
        )


def launch_command(cfg: RunConfig, name: str, ctx: StageContext) -> list[str]:
    t = getattr(cfg, name)
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(t.num_processes)]
    if t.accelerate_config:
        cmd += ["--config_file", t.accelerate_config]
        # Multi-node: the same config on every node; each node says who it is through the environment.
        for env, flag in (("MEDGO_MACHINE_RANK", "--machine_rank"), ("MEDGO_MAIN_PROCESS_IP", "--main_process_ip"),
                          ("MEDGO_MAIN_PROCESS_PORT", "--main_process_port")):
            if os.environ.get(env):
                cmd += [flag, os.environ[env]]
    else:
        # Plain DDP; torchrun underneath. On a machine without GPUs the workers use gloo on the CPU.
        mp = "bf16" if (t.bf16 and torch.cuda.is_available()) else "no"
        cmd += ["--multi_gpu", "--num_machines", "1", "--mixed_precision", mp, "--dynamo_backend", "no"]
        if not torch.cuda.is_available():
            cmd += ["--main_process_port", str(_free_port())]
    cfg_file = ctx.out / ".launch_config.json"
    tmp = ctx.out / f".launch_config.{machine_rank()}.tmp"  # every node writes it: whole files only
    tmp.write_text(json.dumps(cfg.model_dump(mode="json"), ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, cfg_file)
    cmd += ["-m", "medgo.pipeline.launch", "--stage", name, "--config", str(cfg_file), "--run-dir", str(ctx.run.root)]
    if ctx.resume:
        cmd.append("--resume")
    return cmd


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_distributed(cfg: RunConfig, name: str, ctx: StageContext) -> StageResult:
    check_launchable(cfg, name)
    cmd = launch_command(cfg, name, ctx)
    console.print(f"{name}: launching {getattr(cfg, name).num_processes} processes: {' '.join(cmd[2:])}")
    (ctx.out / RESULT).unlink(missing_ok=True)
    rc = subprocess.run(cmd, env={**os.environ, "PYTHONUNBUFFERED": "1"}).returncode
    result = ctx.out / RESULT
    if rc != 0 or not result.is_file():
        raise MedgoError(
            f"distributed {name} stage failed (exit code {rc})",
            hint="read the worker output above; rerun `medgo run` to resume from the last checkpoint",
        )
    return StageResult(**json.loads(result.read_text(encoding="utf-8")))


def _wait(what: str, ready, timeout: float, poll: float):
    deadline = time.time() + timeout
    said = False
    while True:
        got = ready()
        if got is not None:
            return got
        if time.time() > deadline:
            raise MedgoError(f"node {machine_rank()}: gave up waiting for node 0 to {what} after {timeout:.0f}s",
                             hint="is node 0 running the same config on the same shared run folder?")
        if not said:
            console.print(f"node {machine_rank()}: waiting for node 0 to {what}")
            said = True
        time.sleep(poll)


def follow_stage(cfg: RunConfig, name: str, rd: RunDir, fp: str, *, timeout: float | None = None,
                 poll: float = 2.0) -> dict:
    """A node other than 0 (see the module docstring): join node 0's distributed training processes for
    this stage, then wait for node 0's manifest with fingerprint `fp`; return that manifest."""
    timeout = float(os.environ.get("MEDGO_FOLLOW_TIMEOUT", 7 * 24 * 3600)) if timeout is None else timeout
    out = rd.stage(name)
    t = getattr(cfg, name, None)
    if name in TRAIN_STAGES and t is not None and t.enabled and t.num_processes > 1:
        check_launchable(cfg, name)

        def prepared():
            f = out / FINGERPRINT
            return True if f.is_file() and f.read_text().strip() == fp else None

        _wait(f"start stage {name}", prepared, timeout, poll)
        ctx = StageContext(name=name, run=rd, out=out, resume=True, stages=tuple(rd_stages()))
        cmd = launch_command(cfg, name, ctx)
        console.print(f"{name}: node {machine_rank()} joins with its processes: {' '.join(cmd[2:])}")
        rc = subprocess.run(cmd, env={**os.environ, "PYTHONUNBUFFERED": "1"}).returncode
        if rc != 0:
            raise MedgoError(f"distributed {name} stage failed on node {machine_rank()} (exit code {rc})")

    def done():
        m = rd.manifest(name) if rd.is_done(name) else None
        return m if m and m.get("fingerprint") == fp else None

    return _wait(f"finish stage {name}", done, timeout, poll)


def rd_stages() -> list[str]:
    from medgo.pipeline.registry import STAGES

    return list(STAGES)


def worker_main(argv: list[str] | None = None) -> None:
    from medgo.log import setup_logging
    from medgo.pipeline.registry import STAGES, stage_module

    ap = argparse.ArgumentParser(description="one process of a distributed medgo training stage")
    ap.add_argument("--stage", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--resume", action="store_true")
    a = ap.parse_args(argv)
    setup_logging()
    cfg = RunConfig.model_validate(json.loads(Path(a.config).read_text(encoding="utf-8")))
    rd = RunDir(a.run_dir)
    ctx = StageContext(name=a.stage, run=rd, out=rd.stage(a.stage), resume=a.resume, stages=tuple(STAGES))
    res = stage_module(a.stage).run(cfg, ctx)
    if int(os.environ.get("RANK", "0")) == 0:
        (ctx.out / RESULT).write_text(json.dumps(asdict(res), ensure_ascii=False, default=str), encoding="utf-8")


if __name__ == "__main__":
    worker_main()
