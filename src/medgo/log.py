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
    if not verbose():  # weight-loading, shard and dataset-map bars off (before those libraries are imported)
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    # transformers/datasets are chatty at INFO; keep their warnings.
    for noisy in ("transformers", "datasets", "accelerate", "trl", "httpx", "urllib3", "gguf"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def verbose() -> bool:
    """MEDGO_VERBOSE=1 (what `--verbose` sets): libraries' own progress bars and raw training logs on the
    console too; otherwise training stages show one progress line each and write the rest to the stage log."""
    return os.environ.get("MEDGO_VERBOSE", "").strip().lower() not in ("", "0", "false", "no")


def set_verbose(on: bool = True) -> None:
    """What a `--verbose` flag calls (before the command imports transformers): MEDGO_VERBOSE=1 and the
    libraries' progress bars back on."""
    if on:
        os.environ["MEDGO_VERBOSE"] = "1"
        for var in ("HF_HUB_DISABLE_PROGRESS_BARS", "HF_DATASETS_DISABLE_PROGRESS_BARS"):
            if os.environ.get(var) == "1":
                os.environ.pop(var)
    else:
        os.environ.pop("MEDGO_VERBOSE", None)


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)
