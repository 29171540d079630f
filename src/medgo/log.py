"""One rich console and logger for the whole package."""

from __future__ import annotations

import logging
import os

from rich.console import Console
from rich.logging import RichHandler

console = Console(stderr=True, highlight=False, soft_wrap=True)


def setup_logging(level: str | None = None) -> None:
    level = level or os.environ.get("MEDGO_LOG_LEVEL", "INFO")
    logging.basicConfig(
        level=level,
        format="%(message)s",
        datefmt="[%X]",
        handlers=[RichHandler(console=console, show_path=False, rich_tracebacks=False)],
        force=True,
    )
    # transformers/datasets are chatty at INFO; keep their warnings.
    for noisy in ("transformers", "datasets", "accelerate", "trl", "httpx", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)
