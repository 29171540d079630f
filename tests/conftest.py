"""Shared fixtures: a complete mini run every read-only test can look at."""

from __future__ import annotations

from pathlib import Path

import pytest

from medgo_testkit import train_tiny_deid_tagger, write_mini_project


@pytest.fixture(scope="session")
def mini_run(tmp_path_factory) -> tuple[Path, Path]:
    """One complete mini run shared by read-only tests: (config path, run folder)."""
    from medgo.config import load_config
    from medgo.pipeline.runner import run_pipeline

    root = tmp_path_factory.mktemp("mini")
    cfg_path = write_mini_project(root)
    rd, _ = run_pipeline(load_config(cfg_path))
    return cfg_path, rd.root


@pytest.fixture(scope="session")
def tiny_deid_tagger(tmp_path_factory) -> Path:
    """A small learned name tagger (medgo data deid-train's code), trained once per test session."""
    return train_tiny_deid_tagger(tmp_path_factory.mktemp("deid-tagger"))
