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
