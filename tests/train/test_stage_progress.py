"""What a training stage shows: one progress line (step, loss, tokens/s, ETA) on the console; the trainer's
raw log dicts, library warnings and weight-loading bars go to <stage>/train.log, on the console only with
MEDGO_VERBOSE=1 (`--verbose`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from medgo_testkit import write_mini_project


def _run(root: Path) -> Path:
    from medgo.config import load_config
    from medgo.pipeline.runner import run_pipeline

    rd, _ = run_pipeline(load_config(write_mini_project(root, pretrain_steps=3)),
                         stages=["data", "tokenizer", "pretrain"])
    return rd.stage("pretrain")


def test_one_progress_line_and_a_stage_log(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("MEDGO_VERBOSE", raising=False)
    stage = _run(tmp_path)
    out, err = capsys.readouterr()
    console = out + err
    assert "{'loss'" not in console and "'grad_norm'" not in console
    assert "Loading weights" not in console and "it/s]" not in console
    lines = [x for x in console.splitlines() if x.startswith("pretrain: step")]
    assert len(lines) == 1, console
    assert lines[0].startswith("pretrain: step 3/3, loss ") and "tokens/s" in lines[0] and "ETA" in lines[0]
    log = (stage / "train.log").read_text(encoding="utf-8")
    assert '"loss"' in log and "step 3:" in log


def test_verbose_keeps_the_trainer_output(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("MEDGO_VERBOSE", "1")
    _run(tmp_path)
    out, err = capsys.readouterr()
    assert "'loss'" in out + err
    assert not [x for x in (out + err).splitlines() if x.startswith("pretrain: step")]


@pytest.mark.parametrize("value,expected", [("", False), ("0", False), ("1", True), ("yes", True)])
def test_verbose_flag(monkeypatch, value, expected) -> None:
    from medgo.log import verbose

    monkeypatch.setenv("MEDGO_VERBOSE", value)
    assert verbose() is expected


def test_set_verbose_turns_library_bars_back_on(monkeypatch) -> None:
    import os

    from medgo.log import set_verbose, verbose

    monkeypatch.delenv("MEDGO_VERBOSE", raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # as setup_logging leaves it without --verbose
    set_verbose()
    assert verbose() and "HF_HUB_DISABLE_PROGRESS_BARS" not in os.environ
    set_verbose(False)
    assert not verbose()
