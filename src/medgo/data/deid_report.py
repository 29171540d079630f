"""`medgo data deid --report FILE`: what a de-identification run replaced, for a data steward's audit.

Per PHI type: spans replaced, documents touched, distinct values; names per role; and a deterministic
sample of replaced spans shown in context. The context is cut from the de-identified text, so every other
identifier in it is replaced too, and the replaced value itself never appears in the report."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from medgo.data.deid import DeidConfig, deidentify_spans
from medgo.data.readers import iter_records


def _texts(row: dict[str, Any], fields: list[str]) -> list[tuple[str, str]]:
    out = [(f, row[f]) for f in fields if isinstance(row.get(f), str)]
    msgs = row.get("messages")
    if isinstance(msgs, list):
        out += [(f"messages[{i}]", m["content"]) for i, m in enumerate(msgs)
                if isinstance(m, dict) and isinstance(m.get("content"), str)]
    return out


def build_report(inputs: list[str | Path], fields: list[str], cfg: DeidConfig | None = None, *,
                 sample: int = 10, context: int = 24) -> dict[str, Any]:
    """Runs the de-identifier over the same rows and fields as `deid_file` (same per-row document key, so
    the same replacements) and summarises what it replaced."""
    cfg = cfg or DeidConfig()
    per_type: dict[str, dict[str, Any]] = {}
    values: dict[str, set[str]] = {}
    roles: dict[str, int] = {}
    candidates: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    docs = docs_with_phi = 0
    for p in inputs:
        for rec in iter_records(p, None, None, text_field=fields[0]):
            texts = _texts(rec.row, fields)
            if not texts:
                continue
            docs += 1
            key = str(rec.row.get("id", f"{rec.file}:{rec.line}"))
            touched: set[str] = set()
            for field, text in texts:
                out, placed = deidentify_spans(text, cfg, doc_key=key)
                for sp, a, b in placed:
                    t = per_type.setdefault(sp.type, {"spans": 0, "documents": 0})
                    t["spans"] += 1
                    if sp.type not in touched:
                        t["documents"] += 1
                        touched.add(sp.type)
                    # only a digest of the value is kept, to count distinct values
                    values.setdefault(sp.type, set()).add(hashlib.blake2b(sp.text(text).encode(), digest_size=8).hexdigest())
                    if sp.type == "NAME":
                        roles[sp.role or "unknown"] = roles.get(sp.role or "unknown", 0) + 1
                    rank = hashlib.blake2b(f"{key}:{field}:{sp.start}".encode(), digest_size=8).hexdigest()
                    item = {"doc": key, "where": f"{rec.file}:{rec.line}", "field": field, "type": sp.type,
                            "role": sp.role, "replacement": out[a:b],
                            "context": out[max(0, a - context):a] + "⟦" + out[a:b] + "⟧" + out[b:b + context]}
                    cand = candidates.setdefault(sp.type, [])
                    cand.append((rank, item))
                    if len(cand) > 4 * sample:
                        cand.sort(key=lambda x: x[0])
                        del cand[sample:]
            docs_with_phi += bool(touched)
    for t, v in values.items():
        per_type[t]["distinct_values"] = len(v)
    samples = {t: [it for _, it in sorted(c, key=lambda x: x[0])[:sample]] for t, c in sorted(candidates.items())}
    return {"inputs": [str(p) for p in inputs], "fields": fields, "config": cfg.model_dump(exclude={"secret"}),
            "documents": docs, "documents_with_phi": docs_with_phi, "per_type": dict(sorted(per_type.items())),
            "names_by_role": roles, "sample": samples}


def to_markdown(rep: dict[str, Any]) -> str:
    lines = ["# De-identification report", "",
             f"{rep['documents']} documents, {rep['documents_with_phi']} with PHI replaced. Inputs: "
             + ", ".join(rep["inputs"]), "", "| type | spans | documents | distinct values |", "|---|---|---|---|"]
    for t, v in rep["per_type"].items():
        lines.append(f"| {t} | {v['spans']} | {v['documents']} | {v.get('distinct_values', 0)} |")
    if rep["names_by_role"]:
        lines += ["", "Names by role: " + ", ".join(f"{k} {v}" for k, v in sorted(rep["names_by_role"].items()))]
    lines += ["", "## Sample of replaced spans in context (context de-identified)", ""]
    for t, items in rep["sample"].items():
        lines.append(f"### {t}")
        for it in items:
            ctx = it["context"].replace("\n", " ⏎ ").replace("|", "\\|")
            lines.append(f"- `{it['where']}` {it['field']}{' (' + it['role'] + ')' if it['role'] else ''}: {ctx}")
        lines.append("")
    return "\n".join(lines) + "\n"


def write_report(rep: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".md":
        path.write_text(to_markdown(rep), encoding="utf-8")
    else:
        path.write_text(json.dumps(rep, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path
