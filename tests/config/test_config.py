from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from medgo.config import load_config
from medgo.config.loader import apply_overrides, parse_override
from medgo.errors import ConfigError, DataError

REPO = Path(__file__).resolve().parents[2]
PRESETS = ["demo.yaml", "qwen2-7b-lora.yaml", "qwen2-72b-full.yaml"]


@pytest.mark.parametrize("name", PRESETS)
def test_presets_validate(name: str) -> None:
    cfg = load_config(REPO / "configs" / name)
    assert cfg.name
    for p in cfg.data.corpus:
        assert Path(p).is_absolute()


def test_demo_preset_is_cpu_tiny() -> None:
    cfg = load_config(REPO / "configs" / "demo.yaml")
    assert cfg.model.base is None and cfg.model.dtype == "float32" and cfg.tokenizer.type == "bpe"


def test_gpu_presets_use_bf16_and_reference_launch_configs() -> None:
    lora = load_config(REPO / "configs" / "qwen2-7b-lora.yaml")
    full = load_config(REPO / "configs" / "qwen2-72b-full.yaml")
    assert lora.model.finetuning == "lora" and full.model.finetuning == "full"
    for cfg in (lora, full):
        assert cfg.model.dtype == "bfloat16" and cfg.sft.bf16 and cfg.model.base
        assert cfg.sft.deepspeed and Path(cfg.sft.deepspeed).is_file()
        assert cfg.sft.accelerate_config and Path(cfg.sft.accelerate_config).is_file()


def test_overrides_parse_values() -> None:
    assert parse_override("pretrain.epochs=2") == (["pretrain", "epochs"], 2)
    assert parse_override("model.base=null") == (["model", "base"], None)
    assert parse_override("data.corpus=[a.jsonl, b.jsonl]") == (["data", "corpus"], ["a.jsonl", "b.jsonl"])
    raw = apply_overrides({"sft": {"epochs": 1}}, ["sft.learning_rate=1e-4", "name=x"])
    assert raw == {"sft": {"epochs": 1, "learning_rate": 1e-4}, "name": "x"}


def test_override_applies_and_validates() -> None:
    cfg = load_config(REPO / "configs" / "demo.yaml", ["pretrain.epochs=7", "model.tiny.num_hidden_layers=1"])
    assert cfg.pretrain.epochs == 7 and cfg.model.tiny.num_hidden_layers == 1


def test_bad_type_names_key_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        load_config(REPO / "configs" / "demo.yaml", ["pretrain.epochs=lots"])
    assert "pretrain.epochs" in str(e.value) and "number" in str(e.value)


def test_unknown_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        load_config(REPO / "configs" / "demo.yaml", ["sft.learnig_rate=1e-4"])
    assert "sft.learnig_rate" in str(e.value) and "unknown key" in str(e.value)


def test_missing_data_file_names_path_and_key(tmp_path: Path) -> None:
    from medgo.config import check_inputs

    cfg = load_config(REPO / "configs" / "demo.yaml", ["data.sft=[nowhere/sft.jsonl]"])
    with pytest.raises(DataError) as e:
        check_inputs(cfg)
    assert "data.sft[0]" in str(e.value) and "nowhere/sft.jsonl" in str(e.value)


def _medgo(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "medgo.cli.main", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def test_cli_bad_config_exit_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\npretrain:\n  block_size: big\n", encoding="utf-8")
    r = _medgo("run", str(bad))
    assert r.returncode == 2
    assert "pretrain.block_size" in r.stderr and "integer" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_cli_missing_data_exit_2(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("name: x\ndata:\n  corpus: [missing.jsonl]\n", encoding="utf-8")
    r = _medgo("run", str(cfg), f"output_dir={tmp_path}")
    assert r.returncode == 2
    assert "data.corpus[0]" in r.stderr and "missing.jsonl" in r.stderr
    assert "Traceback" not in r.stderr


def test_cli_config_show_prints_resolved(tmp_path: Path) -> None:
    r = _medgo("config", "show", str(REPO / "configs" / "demo.yaml"), "sft.epochs=9")
    assert r.returncode == 0, r.stderr
    assert "epochs: 9" in r.stdout and "vocab_size" in r.stdout


def test_launch_config_files_parse() -> None:
    import json

    import yaml

    acc = {p.name: yaml.safe_load(p.read_text()) for p in (REPO / "configs" / "accelerate").glob("*.yaml")}
    assert {"ddp.yaml", "fsdp_full_shard.yaml", "deepspeed_zero2.yaml", "deepspeed_zero3.yaml"} <= set(acc)
    assert acc["fsdp_full_shard.yaml"]["distributed_type"] == "FSDP"
    for a in acc.values():
        ds = (a.get("deepspeed_config") or {}).get("deepspeed_config_file")
        if ds:
            assert (REPO / ds).is_file(), ds
    stages = {p.name: json.loads(p.read_text())["zero_optimization"]["stage"]
              for p in (REPO / "configs" / "deepspeed").glob("*.json")}
    assert stages == {"zero2.json": 2, "zero3.json": 3, "zero3_offload.json": 3}


def test_env_default_and_eval_data_dirs_resolve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "c.txt").write_text("文本", encoding="utf-8")
    cfg_file = tmp_path / "sub" / "run.yaml"
    cfg_file.parent.mkdir()
    cfg_file.write_text(
        "name: t\ndata:\n  corpus: ['${MEDGO_TEST_ROOT:-..}/c.txt']\n"
        "  prepare: {contamination: {eval: ['${MEDGO_TEST_ROOT:-..}/dev.json']}}\n"
        "eval:\n  cblue: {data_dir: '${MEDGO_TEST_ROOT:-..}/cblue'}\n  exams: {data_dir: ../ex}\n", encoding="utf-8")
    monkeypatch.delenv("MEDGO_TEST_ROOT", raising=False)
    cfg = load_config(cfg_file)
    assert cfg.data.corpus == [str(tmp_path / "c.txt")]
    assert cfg.eval.cblue.data_dir == str(tmp_path / "cblue") and cfg.eval.exams.data_dir == str(tmp_path / "ex")
    assert cfg.data.prepare.contamination.eval == [str(tmp_path / "dev.json")]
    monkeypatch.setenv("MEDGO_TEST_ROOT", "/elsewhere")
    assert load_config(cfg_file).eval.cblue.data_dir == "/elsewhere/cblue"
