"""Where the real public data sets are read from: a configured folder, else $MEDGO_DATA, else none (the
project's own small samples). The one place that reads the variable."""

from __future__ import annotations

import os
from pathlib import Path

ENV = "MEDGO_DATA"


def data_root(configured: str | Path | None = None) -> Path | None:
    val = configured or os.environ.get(ENV)
    return Path(val) if val else None
