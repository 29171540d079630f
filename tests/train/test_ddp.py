"""`num_processes: 2` launches the stage through accelerate (DDP, gloo on CPU) and reaches the same loss as
one process with the same global batch."""

from __future__ import annotations

import json
from pathlib import Path

from medgo.config import load_config
from medgo.pipeline.runner import run_pipeline
from medgo_testkit import write_mini_project


def test_two_process_ddp_matches_one_process(tmp_path: Path) -> None:
    cfg_path = write_mini_project(tmp_path / "p", pretrain_steps=6)
    stages = ["data", "tokenizer", "pretrain"]
    one = load_config(cfg_path, [f"output_dir={tmp_path / 'one'}", "pretrain.per_device_batch_size=4"])
    two = load_config(cfg_path, [f"output_dir={tmp_path / 'two'}", "pretrain.per_device_batch_size=2",
                                 "pretrain.num_processes=2"])
    rd1, _ = run_pipeline(one, stages=stages)
    rd2, _ = run_pipeline(two, stages=stages)
    m1, m2 = rd1.manifest("pretrain")["metrics"], rd2.manifest("pretrain")["metrics"]
    assert m2["steps"] == m1["steps"] == 6
    assert (rd2.model_dir("pretrain") / "model.safetensors").is_file()
    h1 = [h["loss"] for h in json.loads((rd1.stage("pretrain") / "log_history.json").read_text()) if "loss" in h]
    h2 = [h["loss"] for h in json.loads((rd2.stage("pretrain") / "log_history.json").read_text()) if "loss" in h]
    assert len(h1) == len(h2) and all(abs(a - b) < 1e-3 for a, b in zip(h1, h2, strict=True)), (h1, h2)


def test_launch_command_for_multi_node(tmp_path: Path, monkeypatch) -> None:
    from medgo.pipeline.launch import launch_command
    from medgo.run_dir import RunDir
    from medgo.stage import StageContext

    repo = Path(__file__).resolve().parents[2]
    cfg = load_config(repo / "configs" / "qwen2-72b-full.yaml")
    monkeypatch.setenv("MEDGO_MACHINE_RANK", "3")
    monkeypatch.setenv("MEDGO_MAIN_PROCESS_IP", "10.1.2.3")
    rd = RunDir(tmp_path)
    out = rd.stage("sft")
    out.mkdir()
    cmd = launch_command(cfg, "sft", StageContext("sft", rd, out))
    joined = " ".join(cmd)
    assert "--num_processes 32" in joined and "deepspeed_zero3.yaml" in joined
    assert "--machine_rank 3" in joined and "--main_process_ip 10.1.2.3" in joined
    assert cmd[cmd.index("medgo.pipeline.launch") - 1] == "-m"


def test_zero3_preset_launches_the_same_way_on_every_node() -> None:
    """accelerate's own parser on the shipped ZeRO-3 file plus the flags medgo adds per node: the standard
    (torchrun) multi-node launcher, this node's rank and the rendezvous address; not pdsh from node 0."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser

    repo = Path(__file__).resolve().parents[2]
    args = launch_command_parser().parse_args([
        "--config_file", str(repo / "configs/accelerate/deepspeed_zero3.yaml"), "--machine_rank", "2",
        "--main_process_ip", "10.0.0.9", "x.py"])
    args, _, _ = _validate_launch_command(args)
    assert args.use_deepspeed and args.deepspeed_multinode_launcher == "standard"
    assert (args.num_machines, args.num_processes, args.machine_rank, args.main_process_ip) == (4, 32, 2, "10.0.0.9")


def test_fsdp_config_on_a_machine_without_gpus_is_refused(tmp_path: Path) -> None:
    import pytest
    import torch

    from medgo.errors import MedgoError
    from medgo.pipeline.launch import check_launchable

    repo = Path(__file__).resolve().parents[2]
    cfg_path = write_mini_project(tmp_path / "p")
    cfg = load_config(cfg_path, ["pretrain.num_processes=2",
                                 f"pretrain.accelerate_config={repo / 'configs/accelerate/fsdp_full_shard.yaml'}"])
    if torch.cuda.is_available():
        pytest.skip("a GPU machine launches FSDP")
    with pytest.raises(MedgoError, match="FSDP only on GPUs"):
        check_launchable(cfg, "pretrain")
    check_launchable(load_config(cfg_path, ["pretrain.num_processes=2"]), "pretrain")  # DDP on CPU: fine


def test_two_nodes_run_data_and_eval_once_and_train_together(tmp_path: Path) -> None:
    """Two `medgo run`s with MEDGO_MACHINE_RANK 0 and 1 on one shared run folder (two 'nodes' on localhost, one
    gloo process each, rendezvous through MEDGO_MAIN_PROCESS_IP/PORT): node 1 waits for node 0's data and
    tokenizer stages, joins the pretrain processes, and writes no manifest."""
    import os
    import subprocess
    import sys

    from medgo.pipeline.launch import _free_port

    cfg_path = write_mini_project(tmp_path / "p", pretrain_steps=4)
    acc = tmp_path / "two_nodes.yaml"
    acc.write_text("compute_environment: LOCAL_MACHINE\ndistributed_type: MULTI_GPU\nmachine_rank: 0\n"
                   "mixed_precision: 'no'\nnum_machines: 2\nnum_processes: 2\nrdzv_backend: static\n"
                   "same_network: true\nuse_cpu: false\ndynamo_backend: 'NO'\n")
    overrides = [f"output_dir={tmp_path / 'runs'}", "pretrain.num_processes=2", "pretrain.per_device_batch_size=2",
                 f"pretrain.accelerate_config={acc}"]
    code = ("import sys; from medgo.config import load_config; from medgo.pipeline.runner import run_pipeline; "
            f"run_pipeline(load_config({str(cfg_path)!r}, {overrides!r}), stages=['data', 'tokenizer', 'pretrain'])")
    port = str(_free_port())
    procs = []
    first = ""
    for rank in ("1", "0"):  # the follower first: it must wait, not run the data stage itself
        env = {**os.environ, "MEDGO_MACHINE_RANK": rank, "MEDGO_MAIN_PROCESS_IP": "127.0.0.1",
               "MEDGO_MAIN_PROCESS_PORT": port, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
        procs.append(subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True))
        if rank == "1":
            # the leader starts once the follower waits: on a busy machine a leader started at once could finish
            # the data stage before the follower has imported torch, and the follower would find it done
            assert procs[0].stdout is not None
            for line in procs[0].stdout:
                first += line
                if "waiting for node 0" in line:
                    break
    logs = [p.communicate(timeout=400)[0] for p in procs]
    logs[0] = first + logs[0]
    assert [p.returncode for p in procs] == [0, 0], logs
    follower, leader = logs
    assert "node 1: waiting for node 0 to finish stage data" in follower
    assert "pretrain: node 1 joins with its processes" in follower and "--machine_rank 1" in follower
    assert "--machine_rank 0" in leader
    from medgo.run_dir import RunDir

    rd = RunDir(tmp_path / "runs" / load_config(cfg_path).name)
    m = rd.manifest("pretrain")
    assert m["metrics"]["steps"] == 4 and (rd.model_dir("pretrain") / "model.safetensors").is_file()
