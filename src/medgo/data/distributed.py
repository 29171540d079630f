"""Corpus preparation at cluster scale on datatrove: the per-document steps (normalise, quality filters,
de-identification) run as one datatrove PipelineStep over sharded JSONL, with datatrove's local executor
(N worker processes) or its Slurm executor (one array job of N tasks). The global step, dedup, then runs
over the output shards with medgo's streaming dedup (disk-backed MinHash LSH keeps memory flat)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
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
    poll_s: float = 30.0,
) -> dict[str, Any]:
    """Run the per-document steps over every `glob` file of `input_dir`; output shards and datatrove's
    logs (stats per task, completions for `skip_completed` resumption) go under `output_dir`.

    The Slurm executor only submits the array job and returns; the summary is read once every task has
    written its completion marker (`slurm["wait_timeout"]` seconds at most, default: no limit), and a job that
    leaves the queue with tasks incomplete is an error naming them, not a summary of 0 rows."""
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
        wait_timeout = s.pop("wait_timeout", None)
        ex = SlurmPipelineExecutor(
            pipeline=pipeline, tasks=tasks, logging_dir=logs, job_name=s.pop("job_name", "medgo-clean"),
            time=s.pop("time", "04:00:00"), partition=s.pop("partition", "cpu"), workers=workers, **s,
        )
    ex.run()
    if executor != "local":
        wait_for_tasks(Path(logs), tasks, job_alive=lambda: slurm_job_alive(getattr(ex, "job_id", None)),
                       poll_s=poll_s, timeout_s=wait_timeout)
    return summarize(out)


def slurm_job_alive(job_id: str | int | None) -> bool | None:
    """Whether the Slurm job is still queued or running (None when that cannot be asked here)."""
    if job_id in (None, -1, "-1") or shutil.which("squeue") is None:
        return None
    r = subprocess.run(["squeue", "-h", "-j", str(job_id), "-o", "%i"], capture_output=True, text=True)
    return bool(r.stdout.strip()) if r.returncode == 0 else None


def wait_for_tasks(logs: Path, tasks: int, *, job_alive: Callable[[], bool | None] = lambda: None,
                   poll_s: float = 30.0, timeout_s: float | None = None) -> None:
    """Block until datatrove's `completions/` holds a marker for each of `tasks` ranks."""
    from medgo.log import console

    deadline = None if timeout_s is None else time.time() + timeout_s
    said = False
    while True:
        done = {p.name for p in (logs / "completions").glob("*")} if (logs / "completions").is_dir() else set()
        if len(done) >= tasks:
            return
        missing = [r for r in range(tasks) if f"{r:05d}" not in done]
        if job_alive() is False:
            # the queue may lag the last marker by a moment: look once more before calling it a failure
            time.sleep(min(poll_s, 5.0))
            if len({p.name for p in (logs / "completions").glob("*")}) >= tasks:
                return
            raise DataError(
                f"the Slurm job ended with {len(missing)} of {tasks} tasks incomplete (ranks {missing[:10]}...)",
                hint=f"see {logs}/slurm_logs; rerun the same command to run only the incomplete tasks",
            )
        if deadline is not None and time.time() > deadline:
            raise DataError(f"gave up after {timeout_s:.0f}s waiting for {len(missing)} of {tasks} Slurm tasks",
                            hint="rerun the same command later: completed tasks are skipped")
        if not said:
            console.print(f"waiting for {len(missing)} of {tasks} Slurm tasks (markers in {logs}/completions)")
            said = True
        time.sleep(poll_s)


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
