"""Reading CBLUE files: a JSON array, JSON lines, or either with a leading `#` comment line (CMeIE-V2 schema)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from medgo.errors import DataError


def read_records(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"file not found: {path}")
    text = path.read_text(encoding="utf-8-sig")
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    body = "\n".join(lines).strip()
    if not body:
        return []
    if body[0] == "[":
        try:
            rows = json.loads(body)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}: bad JSON array: {e.msg} at line {e.lineno}") from None
    else:
        rows = []
        for n, ln in enumerate(lines, 1):
            if not ln.strip():
                continue
            try:
                rows.append(json.loads(ln))
            except json.JSONDecodeError:
                # the CMeIE-V2 schema file is an array body with one object per line and no commas
                s = ln.strip().rstrip(",")
                if s in ("[", "]"):
                    continue
                raise DataError(f"{path}:{n}: not JSON") from None
    if isinstance(rows, dict):
        raise DataError(f"{path}: expected a list of records, got an object")
    bad = [i for i, r in enumerate(rows) if not isinstance(r, dict)]
    if bad:
        raise DataError(f"{path}: record {bad[0] + 1} is not an object")
    return rows
