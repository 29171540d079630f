"""Multi-process training through `accelerate launch` (DDP, FSDP, DeepSpeed ZeRO), used when a training
stage sets `num_processes > 1`. The parent builds the command; each worker runs the same stage code."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import torch

from medgo.config.schema import RunConfig
from medgo.errors import MedgoError
from medgo.log import console
from medgo.run_dir import RunDir
from medgo.stage import StageContext, StageResult

RESULT = ".result.json"


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
    cfg_file.write_text(json.dumps(cfg.model_dump(mode="json"), ensure_ascii=False), encoding="utf-8")
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
