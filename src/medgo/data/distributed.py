"""Corpus preparation at cluster scale on datatrove: the per-document steps (normalise, quality filters,
de-identification) run as one datatrove PipelineStep over sharded JSONL, with datatrove's local executor
(N worker processes) or its Slurm executor (one array job of N tasks). The global step, dedup, then runs
over the output shards with medgo's streaming dedup (disk-backed MinHash LSH keeps memory flat)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from medgo.data.clean import normalize_text
from medgo.data.deid import DeidConfig, deidentify
from medgo.data.filters import FilterConfig, apply_filters, build_filters
from medgo.errors import DataError


def _require_datatrove() -> None:
    try:
        import datatrove  # noqa: F401
        import orjson  # noqa: F401  (datatrove's JSONL reader needs it)
    except ImportError:
        raise DataError("distributed preparation needs datatrove", hint="pip install 'medgo[scale]'") from None


def clean_step(filters: dict[str, Any], deid: dict[str, Any] | None, rejects_dir: str):
    """A datatrove PipelineStep running medgo's per-document cleaning, filters and de-identification."""
    from datatrove.pipeline.base import PipelineStep

    class MedgoCleanStep(PipelineStep):
        name = "medgo clean + filter + de-id"
        type = "🧹 - MEDGO"

        def __init__(self) -> None:
            super().__init__()
            self.filters_cfg = FilterConfig(**filters)
            self.deid_cfg = DeidConfig(**deid) if deid is not None else None
            self.rejects_dir = rejects_dir

        def run(self, data, rank: int = 0, world_size: int = 1):
            checks = build_filters(self.filters_cfg)
            out = Path(self.rejects_dir)
            out.mkdir(parents=True, exist_ok=True)
            with (out / f"{rank:05d}.jsonl").open("w", encoding="utf-8") as rej:
                for doc in data:
                    with self.track_time():
                        text = normalize_text(doc.text)
                        reason = apply_filters(text, checks)
                        if reason is not None:
                            self.stat_update("rejected")
                            self.stat_update(f"rejected: {reason.split(':', 1)[0]}")
                            where = f"{doc.metadata.get('file_path', '?')}#{doc.id}"
                            rej.write(json.dumps({"where": where, "reason": reason}, ensure_ascii=False) + "\n")
                            continue
                        if self.deid_cfg is not None:
                            text = deidentify(text, self.deid_cfg, doc_key=str(doc.id))
                        doc.text = text
                        self.stat_update("kept")
                        yield doc

    return MedgoCleanStep()


def run_distributed_clean(
    input_dir: str,
    output_dir: str,
    *,
    executor: Literal["local", "slurm"] = "local",
    tasks: int = 4,
    workers: int = -1,
    filters: dict[str, Any] | None = None,
    deid: dict[str, Any] | None = None,
    glob: str = "*.jsonl",
    text_key: str = "text",
    slurm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the per-document steps over every `glob` file of `input_dir`; output shards and datatrove's
    logs (stats per task, completions for `skip_completed` resumption) go under `output_dir`."""
    _require_datatrove()
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    out = Path(output_dir)
    pipeline = [
        JsonlReader(input_dir, glob_pattern=glob, text_key=text_key),
        clean_step(filters or {}, deid, str(out / "rejects")),
        JsonlWriter(str(out / "docs"), output_filename="${rank}.jsonl", compression=None),
    ]
    logs = str(out / "logs")
    if executor == "local":
        from datatrove.executor import LocalPipelineExecutor

        ex = LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=workers, logging_dir=logs)
    else:
        from datatrove.executor import SlurmPipelineExecutor

        s = dict(slurm or {})
        ex = SlurmPipelineExecutor(
            pipeline=pipeline, tasks=tasks, logging_dir=logs, job_name=s.pop("job_name", "medgo-clean"),
            time=s.pop("time", "04:00:00"), partition=s.pop("partition", "cpu"), workers=workers, **s,
        )
    ex.run()
    return summarize(out)


def summarize(out: Path) -> dict[str, Any]:
    """Counts over all tasks: kept + rejected = read."""
    kept = sum(1 for f in (out / "docs").glob("*.jsonl") for line in f.open(encoding="utf-8") if line.strip())
    reasons: dict[str, int] = {}
    for f in (out / "rejects").glob("*.jsonl"):
        for line in f.open(encoding="utf-8"):
            r = json.loads(line)["reason"].split(":", 1)[0]
            reasons[r] = reasons.get(r, 0) + 1
    rejected = sum(reasons.values())
    return {"rows_in": kept + rejected, "rows_out": kept, "rejected": rejected, "reasons": reasons,
            "output": str(out / "docs")}
