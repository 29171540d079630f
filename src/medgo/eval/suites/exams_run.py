"""Exam task selection for the CLI."""

from __future__ import annotations

from pathlib import Path

from medgo.errors import DataError
from medgo.eval.suites.exams import LOADERS, load_exam


def exam_tasks(tasks: str | None, data_dir: Path | None) -> list[str]:
    """'all': every format with questions under the data folder (the project samples have all four)."""
    if tasks and tasks.strip().lower() != "all":
        names = [t.strip().lower() for t in tasks.split(",") if t.strip()]
        for n in names:
            if n not in LOADERS:
                raise DataError(f"unknown exam {n!r}", hint=f"one of {sorted(LOADERS)}")
        return names
    found = []
    for n in LOADERS:
        try:
            load_exam(n, data_dir)
        except DataError:
            continue
        found.append(n)
    return found
