"""A task declared as data: where its files are, how an example becomes a prompt, how an answer is parsed,
which metric scores it under each convention, and how a prediction is written for the leaderboard."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medgo.errors import DataError
from medgo.eval.tasks.io import read_records

Example = dict[str, Any]
SAMPLES = Path(__file__).parent / "samples"
CONVENTIONS = ("cblue", "promptcblue")


@dataclass(frozen=True)
class Template:
    name: str
    text: str  # str.format fields from Task.fields(example)
    shots: int = 0


@dataclass
class Task:
    name: str
    kind: str  # classification | ner | spo | cdn | event | ...: picks the runner's scoring path only
    paths: dict[str, list[str]]  # split -> candidate paths under the data root ({split} is filled in)
    templates: list[Template]
    fields: Callable[[Example], dict[str, str]]
    gold: Callable[[Example], Any]  # record in the official format -> canonical gold (hashable items)
    answer: Callable[[Any, Example], str]  # canonical gold -> the answer text the templates ask for
    parse: Callable[[str, Example], Any]  # model output -> canonical prediction, None when unparseable
    metrics: dict[str, Callable[[Sequence[Any], Sequence[Any], Sequence[Example]], dict[str, float]]]
    headline: dict[str, str]  # convention -> metric key reported as the task's score
    to_record: Callable[[Example, Any], Example]  # example + prediction -> submission record
    submit_file: str
    labels: dict[str, str] = field(default_factory=dict)  # label id -> answer text (classification)
    max_new_tokens: int = 64
    id_key: str | None = "id"
    has_train: bool = True
    # files that are not record lists (IMCS-V2: dialogues keyed by id): path -> examples, and submission
    # records -> the object the leaderboard takes; None = a JSON array / JSON lines of records
    reader: Callable[[Path], list[Example]] | None = None
    writer: Callable[[list[Example]], Any] | None = None

    def template(self, name: str | None) -> Template:
        if name is None:
            return self.templates[0]
        for t in self.templates:
            if t.name == name:
                return t
        raise DataError(f"{self.name}: no template {name!r}", hint=f"one of {[t.name for t in self.templates]}")

    def find(self, split: str, data_dir: Path | None) -> Path | None:
        roots = [data_dir] if data_dir is not None else [SAMPLES]
        for root in roots:
            for cand in self.paths.get(split, []):
                p = root / cand.format(split=split, task=self.name)
                if p.is_file():
                    return p
        return None

    def load(self, split: str, data_dir: Path | None = None) -> tuple[list[Example], str]:
        """Examples of `split` and a note. Where a data set ships no train split (CMeEE, CMeIE), the dev file
        is split deterministically by text hash: 1 in 10 rows are 'train' (few-shot pool), the rest 'dev'."""
        p = self.find(split, data_dir)
        if p is not None:
            return self.read(p), str(p)
        if split in ("train", "dev") and (dev := self.find("dev", data_dir)) is not None:
            rows = [r for r in self.read(dev) if (_bucket(r) == 0) == (split == "train")]
            return rows, f"{dev} (train split absent: dev split by text hash, 10% train / 90% dev)"
        where = data_dir if data_dir is not None else SAMPLES
        raise DataError(f"{self.name}: no {split} file under {where}", hint="pass --data-dir or set MEDGO_DATA")

    def read(self, path: Path) -> list[Example]:
        return self.reader(path) if self.reader is not None else read_records(path)

    def score(self, convention: str, golds: Sequence[Any], preds: Sequence[Any], examples: Sequence[Example]) -> dict:
        if convention not in self.metrics:
            raise DataError(f"{self.name}: no {convention} metric", hint=f"one of {sorted(self.metrics)}")
        out = dict(self.metrics[convention](golds, preds, examples))
        out["metric"] = self.headline[convention]
        out["score"] = out[self.headline[convention]]
        return out


def _bucket(row: Example) -> int:
    key = str(row.get("text") or row.get("query") or row.get("id") or row)
    return int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) % 10
