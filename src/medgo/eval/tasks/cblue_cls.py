"""CBLUE classification and matching tasks (CHIP-CTC, KUAKE-QIC, KUAKE-QTR, KUAKE-QQR, CHIP-STS): declared as
data in cblue_cls.yaml, built and registered here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from medgo.eval.tasks.base import Template
from medgo.eval.tasks.common import classification_task
from medgo.eval.tasks.registry import register

DECLARATIONS = Path(__file__).with_suffix(".yaml")
CBLUE1 = "Sherlock-coder_CBLUE/data/{task}"


def _fields(inputs: dict[str, list[str]], strip: set[str], options: str):
    def fields(ex: dict) -> dict[str, str]:
        out = {}
        for slot, keys in inputs.items():
            if len(keys) == 1 and keys[0] not in ex:
                raise KeyError(keys[0])  # a single-source slot is required, as the task's reader expects
            val = next((ex[k] for k in keys if ex.get(k)), "")
            out[slot] = val.strip() if slot in strip else val
        return {**out, "options": options}

    return fields


def build(decl: dict[str, Any]):
    raw = decl["labels"]
    labels = {x: x for x in raw} if isinstance(raw, list) else {str(k): v for k, v in raw.items()}
    options = decl.get("options_sep", "，").join(labels.values())
    return classification_task(
        decl["name"], repo_dir=CBLUE1.format(task=decl["name"]), labels=labels,
        fields=_fields(decl["inputs"], set(decl.get("strip", [])), options),
        native=decl["native"], promptcblue_avg=decl["promptcblue_avg"],
        templates=[Template(t["name"], t["text"], shots=t.get("shots", 0)) for t in decl["templates"]],
    )


for _decl in yaml.safe_load(DECLARATIONS.read_text(encoding="utf-8")):
    register(build(_decl))
