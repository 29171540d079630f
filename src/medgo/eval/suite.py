"""The one interface every evaluation suite implements, and the one writer of its outputs.

A suite turns an engine and a spec into a summary (scores.json), a Markdown table (scores.md) and
per-item rows (predictions). The CLI (`medgo eval run --suite NAME`) and the eval stage both go through
`medgo.eval.suites.SUITES`; adding a suite = one class here-shaped and one entry there."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from medgo.data.jsonl import write_jsonl
from medgo.inference.base import Engine


@dataclass
class EvalOptions:
    """What `medgo eval run` was asked, in one place; each suite reads the options that apply to it."""

    tasks: str | None = None
    split: str | None = None
    limit: int | None = None
    data_dir: Path | None = None
    template: str | None = None
    convention: str = "cblue"
    methods: list[str] | None = None
    shots: int | None = None  # None: the suite's own (exams: the protocol's; CBLUE: the template's)
    protocol: str | None = None  # exams: published | chat (None: published)
    full: bool = False  # exams: whole sets instead of the CPU-sized general subset
    max_new_tokens: int | None = None
    # clinicalqa: comparison and judging
    baseline: Engine | None = None
    judge: Any = None
    scorers: list[str] = field(default_factory=lambda: ["reference", "judge", "pairwise"])
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class StageInputs:
    """What the eval stage hands a suite besides the engine and its config section."""

    model: str  # init | pretrain | sft | preference
    out: Path  # this suite's folder for this model
    data_dir: Path | None = None  # the shared-data root ($MEDGO_DATA or the section's data_dir)
    run_data: Path | None = None  # the run's data stage folder (its labelled eval set)


class Suite(Protocol):
    name: str
    merge_prefix: str | None  # the eval stage merges the row into the model's results under this prefix

    def spec(self, opts: EvalOptions) -> Any:
        """The suite's own spec from the CLI's options."""
        ...

    def run(self, engine: Engine, spec: Any, out: Path | None = None) -> dict[str, Any]:
        """Evaluate; with `out`, write predictions, scores.json and scores.md there. Returns the summary."""
        ...

    def markdown(self, summary: dict[str, Any]) -> str: ...

    def for_stage(self, engine: Engine, section: Any, inputs: StageInputs) -> dict[str, Any]:
        """Run as the eval stage's config section says; the compact row the stage keeps in results.json."""
        ...


def write_outputs(out: Path, summary: Mapping[str, Any], markdown: str,
                  rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    """`rows` maps a path under `out` (e.g. predictions/KUAKE-QIC.jsonl) to its per-item rows."""
    out.mkdir(parents=True, exist_ok=True)
    for rel, rs in rows.items():
        write_jsonl(out / rel, list(rs))
    (out / "scores.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    (out / "scores.md").write_text(markdown, encoding="utf-8")
