"""The stage interface: every stage is a module with NAME, `config_for_hash(cfg)` and `run(cfg, ctx)`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from medgo.config.schema import RunConfig
from medgo.run_dir import RunDir


@dataclass
class StageContext:
    """What a stage may touch: its own folder to write, the run folder to read earlier stages from."""

    name: str
    run: RunDir
    out: Path
    resume: bool = False  # True when a checkpoint from an interrupted attempt with the same fingerprint exists
    stages: tuple[str, ...] = ()  # the pipeline's stage order (the report lists stages by it)
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class StageResult:
    metrics: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    status: str = "done"  # done | disabled
    extra: dict[str, Any] = field(default_factory=dict)


class Stage(Protocol):
    NAME: str

    def config_for_hash(self, cfg: RunConfig) -> Any: ...

    def run(self, cfg: RunConfig, ctx: StageContext) -> StageResult: ...
