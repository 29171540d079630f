"""TrainingArguments across the transformers versions medgo supports (pyproject's lower bound is tested).

transformers 5.2x renamed `gradient_checkpointing` to `activation_checkpointing`; the versions current vLLM
pins (transformers < 5.21 for vLLM 0.33) only have the old name, so a GPU install with vLLM failed with
`TypeError: TrainingArguments.__init__() got an unexpected keyword argument 'activation_checkpointing'`."""

from __future__ import annotations

import dataclasses
from typing import Any

RENAMED = {"activation_checkpointing": "gradient_checkpointing"}  # new name -> the name older releases use


def training_args_kwargs(cls: type, kw: dict[str, Any]) -> dict[str, Any]:
    """`kw` with each renamed field under the name `cls` (TrainingArguments or a TRL config) accepts."""
    fields = {f.name for f in dataclasses.fields(cls)}
    out = dict(kw)
    for new, old in RENAMED.items():
        if new in out and new not in fields and old in fields:
            out[old] = out.pop(new)
    return out
