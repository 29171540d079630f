"""PromptCBLUE's instruction records as runnable tasks, one per PromptCBLUE task: `PromptCBLUE-<task>`.
The prompt is the record's own `input`, the answer its `target`; answers are read with PromptCBLUE's
post-processing (suites/promptcblue_parse.py) and scored with its evaluator (suites/promptcblue.py), under
either convention. This is how the dialogue tasks that have no native files in the shared data (IMCS-V2-*,
MedDG, CHIP-MDCFNPC) run on real records: PromptCBLUE's toy_examples hold 5 of each per split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medgo.eval.tasks.base import Example, Task, Template
from medgo.eval.tasks.io import read_records
from medgo.eval.tasks.registry import register

PREFIX = "PromptCBLUE-"
TASKS = ["CMeEE-V2", "CMeIE", "CHIP-CDN", "CHIP-CDEE", "CHIP-CTC", "CHIP-STS", "KUAKE-QIC", "KUAKE-QTR",
         "KUAKE-QQR", "KUAKE-IR", "IMCS-V2-NER", "IMCS-V2-SR", "IMCS-V2-DAC", "IMCS-V2-MRG", "MedDG", "CHIP-MDCFNPC"]
TOY = "cblue/PromptCBLUE/datasets/PromptCBLUE/toy_examples/{split}.json"


def _reader(task: str):
    def read(path: Path) -> list[Example]:
        return [r for r in read_records(path) if r.get("task_dataset") == task]
    return read


def _structure(task: str, text: str, ex: Example) -> Any:
    from medgo.eval.suites.promptcblue_parse import structure  # the suites import the task registry

    return structure(task, text, ex.get("answer_choices"))



def _make(task: str) -> Task:
    def metric(golds, preds, examples) -> dict[str, float]:
        from medgo.eval.suites.promptcblue import score_task

        g = [_structure(task, t, ex) for t, ex in zip(golds, examples, strict=True)]
        p = [_structure(task, t if isinstance(t, str) else "", ex) for t, ex in zip(preds, examples, strict=True)]
        return score_task(task, g, p)

    return Task(
        name=PREFIX + task, kind="promptcblue", paths={s: [TOY, "PromptCBLUE/{split}.json"] for s in ("train", "dev", "test")},
        templates=[Template("native", "{input}"), Template("few1", "{input}", shots=1)],
        fields=lambda ex: {"input": str(ex.get("input", ""))}, gold=lambda ex: str(ex.get("target") or ""),
        answer=lambda g, _ex: g, parse=lambda t, _ex: (t or "").strip() or None,
        metrics={"cblue": metric, "promptcblue": metric}, headline={"cblue": "score", "promptcblue": "score"},
        to_record=lambda ex, p: {**ex, "target": p or ""}, submit_file=f"PromptCBLUE-{task}_test.json",
        max_new_tokens=128 if task in ("IMCS-V2-MRG", "CHIP-MDCFNPC", "CMeIE", "CHIP-CDEE") else 64,
        id_key="sample_id", reader=_reader(task),
    )


for _t in TASKS:
    register(_make(_t))


def is_promptcblue(name: str) -> bool:
    return name.startswith(PREFIX)
