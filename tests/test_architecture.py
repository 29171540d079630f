"""The house keeps its shape: every import in src/medgo goes to a room that ARCHITECTURE.md's table allows."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "medgo"
CORE_FILES = {"errors", "log", "machine", "run_dir", "__init__"}


def rooms_table() -> dict[str, set[str]]:
    """room -> the rooms it may import, from the table in ARCHITECTURE.md."""
    allowed: dict[str, set[str]] = {}
    for line in (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| `(\w+)` \|.*\| ([^|]*) \|$", line)
        if m:
            allowed[m.group(1)] = {r.strip() for r in m.group(2).split(",") if r.strip() not in ("", "—")}
    return allowed


def room_of_file(path: Path) -> str:
    rel = path.relative_to(SRC).parts
    if len(rel) > 1:
        return rel[0]
    name = rel[0].removesuffix(".py")
    return "core" if name in CORE_FILES else name


def room_of_module(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "medgo":
        return None
    if len(parts) == 1:
        return "core"
    return "core" if parts[1] in CORE_FILES else parts[1]


def imports(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
    return out


def violations(allowed: dict[str, set[str]]) -> list[str]:
    bad = []
    for f in sorted(SRC.rglob("*.py")):
        src = room_of_file(f)
        for line, mod in imports(f):
            dst = room_of_module(mod)
            if dst is None or dst == src:
                continue
            if src not in allowed:
                bad.append(f"{f.relative_to(ROOT)}: room {src!r} is not in ARCHITECTURE.md's table")
            elif dst not in allowed[src]:
                bad.append(f"{f.relative_to(ROOT)}:{line}: {src} imports {mod} ({dst}), which the table does not allow")
    return bad


def test_table_lists_every_room_and_runs_downhill() -> None:
    allowed = rooms_table()
    order = list(allowed)
    assert {room_of_file(f) for f in SRC.rglob("*.py")} <= set(order)
    for i, room in enumerate(order):  # a room may name only rooms above it: no cycle can be written down
        assert allowed[room] <= set(order[:i]), f"{room} may import a room below it: {allowed[room] - set(order[:i])}"
    assert "serve" not in allowed["eval"] and "eval" not in allowed["serve"]
    assert allowed["inference"] <= {"core", "config", "model"}


def test_every_import_goes_where_the_table_allows() -> None:
    assert violations(rooms_table()) == []


def test_the_check_catches_the_uphill_arrows_it_exists_for(tmp_path: Path) -> None:
    """The arrows this house once had (serve -> eval, pipeline <-> train, config -> data) are refused."""
    allowed = rooms_table()
    for src, module in (("serve", "medgo.eval.backends.hf"), ("train", "medgo.pipeline.runner"),
                        ("config", "medgo.data.prepare"), ("eval", "medgo.serve.app"),
                        ("inference", "medgo.eval.harness"), ("report", "medgo.pipeline.registry")):
        assert room_of_module(module) not in allowed[src], (src, module)
