"""The ordered stage registry: the one place that names the stages and the module that runs each.

Adding a stage = one entry here (a module with NAME, `config_for_hash(cfg)` and `run(cfg, ctx)`).
Stages that write a model folder are also listed in `medgo.run_dir.TRAIN_STAGES` (a run-folder fact)."""

from __future__ import annotations

import importlib
from types import ModuleType

from medgo.errors import MedgoError
from medgo.run_dir import TRAIN_STAGES

STAGE_MODULES: dict[str, str] = {
    "data": "medgo.data.stage",
    "tokenizer": "medgo.model.tokenizer_stage",
    "pretrain": "medgo.train.pretrain",
    "sft": "medgo.train.sft",
    "preference": "medgo.train.preference",
    "eval": "medgo.eval.stage",
    "report": "medgo.report.stage",
}
STAGES: list[str] = list(STAGE_MODULES)
assert [s for s in STAGES if s in TRAIN_STAGES] == TRAIN_STAGES, "TRAIN_STAGES must be registered, in order"


def stage_module(name: str) -> ModuleType:
    if name not in STAGE_MODULES:
        raise MedgoError(f"unknown stage {name!r}", hint=f"choose one of: {', '.join(STAGES)}")
    return importlib.import_module(STAGE_MODULES[name])
