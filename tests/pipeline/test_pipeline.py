"""End-to-end behaviour of `medgo run` on the mini project: stages, markers, skip, rerun, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from medgo.config import load_config
from medgo.pipeline.registry import STAGES
from medgo.pipeline.runner import run_pipeline
from medgo.run_dir import RunDir
from medgo_testkit import write_mini_project


def test_every_stage_completes_with_manifest(mini_run) -> None:
    _, root = mini_run
    rd = RunDir(root)
    for s in STAGES:
        assert rd.is_done(s), s
        m = rd.manifest(s)
        assert m["fingerprint"] and m["run_id"] and m["wall_time_s"] >= 0
    for s in ("pretrain", "sft", "preference"):
        assert (rd.model_dir(s) / "model.safetensors").is_file()
        assert (rd.model_dir(s) / "tokenizer.json").is_file()
    assert rd.manifest("sft")["started_from"] == "pretrain"
    assert rd.manifest("preference")["started_from"] == "sft"


def test_data_stage_accounts_for_every_row(mini_run) -> None:
    _, root = mini_run
    m = RunDir(root).manifest("data")
    c = m["counts"]
    assert c["rows_in"] == c["rows_out"] + c["rejected"]
    assert c["sft"]["rejected"] == 2
    assert c["preference"]["train"] + c["preference"]["eval"] == c["preference"]["kept"] and c["preference"]["eval"] >= 1
    rejects = [json.loads(x) for x in (root / "data" / "rejects.jsonl").read_text().splitlines()]
    where = {r["where"].rsplit("/", 1)[-1]: r["reason"] for r in rejects}
    assert where["sft.jsonl:98"].startswith("bad alternation")
    assert where["sft.jsonl:99"].startswith("bad json")


def test_report_has_loss_curves_and_eval_table(mini_run) -> None:
    _, root = mini_run
    md = (root / "report" / "report.md").read_text(encoding="utf-8")
    html = (root / "report" / "report.html").read_text(encoding="utf-8")
    assert "![loss curves](loss_curves.png)" in md and (root / "report" / "loss_curves.png").stat().st_size > 1000
    assert "| init |" in md and "| sft |" in md and "held-out perplexity" in md
    assert html.count("data:image/png;base64,") == 2 and "<table>" in html
    results = json.loads((root / "eval" / "results.json").read_text())
    assert set(results) == {"init", "pretrain", "sft", "preference"}
    assert results["pretrain"]["perplexity"] < results["init"]["perplexity"]
    for r in results.values():
        assert 0 <= r["pref_accuracy"] <= 1 and r["pref_pairs"] >= 1
    assert "held-out preference acc." in md


def _clone(tmp_path: Path, **kw) -> Path:
    return write_mini_project(tmp_path / "proj", **kw)


def test_second_run_skips_and_deleted_marker_reruns_downstream(tmp_path: Path) -> None:
    cfg_path = _clone(tmp_path)
    cfg = load_config(cfg_path)
    rd, first = run_pipeline(cfg)
    assert all(s["ran"] for s in first)
    ids = {s: rd.manifest(s)["run_id"] for s in STAGES}
    _, second = run_pipeline(cfg)
    assert not any(s["ran"] for s in second)
    assert {s: rd.manifest(s)["run_id"] for s in STAGES} == ids
    (rd.stage("sft") / "DONE").unlink()
    _, third = run_pipeline(cfg)
    ran = [s["stage"] for s in third if s["ran"]]
    assert ran == ["sft", "preference", "eval", "report"]
    assert rd.manifest("pretrain")["run_id"] == ids["pretrain"]
    # A changed config for one stage reruns it and those after it.
    _, fourth = run_pipeline(load_config(cfg_path, ["preference.beta=0.3"]))
    assert [s["stage"] for s in fourth if s["ran"]] == ["preference", "eval", "report"]


def test_kill_9_during_pretrain_resumes_from_checkpoint(tmp_path: Path) -> None:
    steps = 160
    extra = ""
    cfg_path = _clone(tmp_path, pretrain_steps=steps)
    # save every 20 steps
    text = cfg_path.read_text(encoding="utf-8").replace("save_steps: 2, logging_steps: 1}", "save_steps: 20, logging_steps: 1}", 1)
    cfg_path.write_text(text + extra, encoding="utf-8")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "medgo.cli.main", "run", str(cfg_path)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    ckpts = tmp_path / "proj" / "runs" / "mini" / "pretrain" / "checkpoints"
    deadline = time.time() + 240
    try:
        while time.time() < deadline:
            done = sorted(ckpts.glob("checkpoint-*/trainer_state.json")) if ckpts.exists() else []
            if len(done) >= 2:
                break
            assert proc.poll() is None, "run finished before it could be killed"
            time.sleep(0.02)
        else:
            raise AssertionError("no checkpoint appeared")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    rd = RunDir(tmp_path / "proj" / "runs" / "mini")
    assert not rd.is_done("pretrain")
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    m = rd.manifest("pretrain")
    assert m["resumed_from"] and "checkpoint-" in m["resumed_from"]
    assert m["metrics"]["steps"] == steps
    # The resumed run ends where an uninterrupted one ends.
    ref_cfg = load_config(cfg_path, [f"output_dir={tmp_path / 'ref'}"])
    ref, _ = run_pipeline(ref_cfg, stages=["data", "tokenizer", "pretrain"])
    a, b = m["metrics"]["last_loss"], ref.manifest("pretrain")["metrics"]["last_loss"]
    assert abs(a - b) < 1e-4, (a, b)


def test_bad_input_files_are_named_with_key_and_line(tmp_path: Path) -> None:
    import pytest

    from medgo.errors import DataError

    cfg_path = _clone(tmp_path)
    proj = cfg_path.parent
    (proj / "empty.jsonl").write_text("", encoding="utf-8")
    (proj / "wrong.jsonl").write_text('{"id": 1, "prompt": "头痛？", "answer": "布洛芬"}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"data\.sft\[1\]: .*empty\.jsonl is empty"):
        run_pipeline(load_config(cfg_path, ["data.sft=[sft.jsonl, empty.jsonl]"]), stages=["data"])
    with pytest.raises(DataError, match=r"data\.preference\[0\]: .*wrong\.jsonl has no usable row .* line 1: missing field"):
        run_pipeline(load_config(cfg_path, ["data.preference=[wrong.jsonl]"]), stages=["data"])
    # Every conversation too long for sft.max_length: the sft stage says so and names the file.
    with pytest.raises(DataError, match=r"sft\.train\.jsonl: all \d+ conversations are longer than sft\.max_length=8"):
        run_pipeline(load_config(cfg_path, ["sft.max_length=8"]), stages=["data", "tokenizer", "pretrain", "sft"])
