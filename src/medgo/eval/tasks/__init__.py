"""CBLUE tasks declared as data (templates, parser, metric, labels) and registered by name."""

from medgo.eval.tasks import cblue3, cblue_cls, cblue_dialog, cblue_ie, imcs, promptcblue_tasks  # noqa: F401  (registers the tasks)
from medgo.eval.tasks.base import CONVENTIONS, Task, Template
from medgo.eval.tasks.registry import get_task, register, task_names

__all__ = ["CONVENTIONS", "Task", "Template", "get_task", "register", "task_names"]
