"""Load a run YAML, apply `a.b=c` overrides, validate, resolve paths; errors name the key path."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from medgo.config.schema import RunConfig
from medgo.errors import ConfigError, DataError

# Keys holding file paths, resolved against the config file's folder (so a run works from any cwd).
PATH_KEYS_LIST = ("data.corpus", "data.sft", "data.preference")
PATH_KEYS_ONE = ("data.eval_cls",)


def parse_override(text: str) -> tuple[list[str], Any]:
    """`train.lr=1e-4` -> (["train", "lr"], 1e-4). The value is parsed as YAML (numbers, lists, null)."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} is not of the form key.sub=value", hint="e.g. pretrain.epochs=2")
    key, _, raw = text.partition("=")
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise ConfigError(f"override {text!r} has an empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    if isinstance(value, str):  # YAML 1.1 reads "1e-4" as a string
        try:
            value = float(value)
        except ValueError:
            pass
    return parts, value


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    for item in overrides:
        parts, value = parse_override(item)
        node = raw
        for p in parts[:-1]:
            child = node.get(p)
            if child is None:
                child = node[p] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"override {item!r}: '{p}' is a value, not a section")
            node = child
        node[parts[-1]] = value
    return raw


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def format_validation_error(err: ValidationError, source: str) -> str:
    lines = [f"invalid config {source}:"]
    for e in err.errors():
        key = _loc(e["loc"])
        got = e.get("input")
        got_s = "" if isinstance(got, dict) else f" (got {got!r})"
        if e["type"] == "extra_forbidden":
            lines.append(f"  - {key}: unknown key; check spelling (`medgo config show` lists the keys)")
        elif e["type"] == "missing":
            lines.append(f"  - {key}: required key is missing")
        else:
            lines.append(f"  - {key}: {e['msg']}{got_s}")
    return "\n".join(lines)


_VAR_DEFAULT = re.compile(r"\$\{(\w+):-([^}]*)\}")


def expand_vars(text: str) -> str:
    """$VAR / ${VAR} as os.path.expandvars, plus ${VAR:-default} (the default when VAR is unset or empty)."""
    text = _VAR_DEFAULT.sub(lambda m: os.environ.get(m.group(1)) or m.group(2), text)
    return os.path.expandvars(text)


def _expand(path: str, base: Path) -> str:
    p = Path(expand_vars(os.path.expanduser(path)))
    return str(p if p.is_absolute() else (base / p).resolve())


def _resolve_paths(cfg: RunConfig, base: Path) -> None:
    for key in PATH_KEYS_LIST:
        section, field = key.split(".")
        obj = getattr(cfg, section)
        setattr(obj, field, [_expand(p, base) for p in getattr(obj, field)])
    for key in PATH_KEYS_ONE:
        section, field = key.split(".")
        obj = getattr(cfg, section)
        if getattr(obj, field):
            setattr(obj, field, _expand(getattr(obj, field), base))
    for section in ("pretrain", "sft", "preference"):
        tcfg = getattr(cfg, section)
        for field in ("deepspeed", "accelerate_config"):
            if getattr(tcfg, field):
                setattr(tcfg, field, _expand(getattr(tcfg, field), base))
    for name in ("cblue", "clinicalqa", "exams"):
        sub = getattr(cfg.eval, name)
        if sub is not None and sub.data_dir:
            sub.data_dir = _expand(sub.data_dir, base)
    if cfg.data.prepare is not None:
        cont = cfg.data.prepare.contamination
        cont.eval = [_expand(str(p), base) for p in cont.eval]
    # A local model folder given relatively; hub ids (org/name) that do not exist locally stay as they are.
    if cfg.model.base and not Path(cfg.model.base).is_absolute():
        candidate = base / cfg.model.base
        if candidate.exists():
            cfg.model.base = str(candidate.resolve())


def load_config(path: str | Path, overrides: list[str] | None = None) -> RunConfig:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}", hint="pass a YAML file such as configs/demo.yaml")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections (name, data, model, ...)")
    raw = apply_overrides(raw, overrides or [])
    try:
        cfg = RunConfig.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(format_validation_error(e, str(path))) from None
    _resolve_paths(cfg, path.parent.resolve())
    return cfg


def check_inputs(cfg: RunConfig) -> None:
    """Every data path named in the config exists; the error names the path and the key."""
    missing = []
    for key in PATH_KEYS_LIST:
        section, field = key.split(".")
        for i, p in enumerate(getattr(getattr(cfg, section), field)):
            if not Path(p).is_file():
                missing.append(f"  - {key}[{i}]: {p}")
    for key in PATH_KEYS_ONE:
        section, field = key.split(".")
        p = getattr(getattr(cfg, section), field)
        if p and not Path(p).is_file():
            missing.append(f"  - {key}: {p}")
    if missing:
        raise DataError(
            "data file(s) not found:\n" + "\n".join(missing),
            hint="fix the path in the config (relative paths are read from the config file's folder)",
        )
    if not cfg.data.corpus:
        raise ConfigError("data.corpus: at least one pre-training corpus file is required")


def section_hash(obj: Any) -> str:
    """Stable hash of a config section (or any JSON-able value)."""
    if hasattr(obj, "model_dump"):
        obj = obj.model_dump(mode="json")
    blob = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def dump_config(cfg: RunConfig) -> str:
    return yaml.safe_dump(cfg.model_dump(mode="json"), allow_unicode=True, sort_keys=False)
