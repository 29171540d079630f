"""Tasks by name. Declaring a task module and importing it in `tasks/__init__.py` is all a new task needs."""

from __future__ import annotations

from medgo.errors import DataError
from medgo.eval.tasks.base import Task

_TASKS: dict[str, Task] = {}


def register(task: Task) -> Task:
    if task.name in _TASKS:
        raise ValueError(f"task {task.name} registered twice")
    _TASKS[task.name] = task
    return task


def get_task(name: str) -> Task:
    key = {k.lower(): k for k in _TASKS}.get(name.strip().lower())
    if key is None:
        raise DataError(f"unknown task {name!r}", hint=f"one of: {', '.join(sorted(_TASKS))}")
    return _TASKS[key]


def task_names() -> list[str]:
    return list(_TASKS)
