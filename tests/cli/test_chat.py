from __future__ import annotations

import subprocess
import sys


def test_chat_once_reads_stdin_and_answers(mini_run) -> None:
    _, root = mini_run
    r = subprocess.run(
        [sys.executable, "-m", "medgo.cli.main", "chat", str(root), "--once", "--max-new-tokens", "8"],
        input="头痛怎么办？\n", capture_output=True, text=True, timeout=180,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.endswith("\n") and "Traceback" not in r.stderr


def test_chat_on_empty_run_dir_is_a_user_error(tmp_path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "medgo.cli.main", "chat", str(tmp_path), "--once"],
        input="hi", capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 2 and "no trained model" in r.stderr and "Traceback" not in r.stderr


def test_stage_command_runs_one_stage(mini_run, tmp_path) -> None:
    cfg, root = mini_run
    r = subprocess.run(
        [sys.executable, "-m", "medgo.cli.main", "stage", "report", str(cfg), "--out", str(root)],
        capture_output=True, text=True, timeout=180,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert (root / "report" / "report.html").is_file()
