"""Cluster paths proved on CPU: the datatrove Slurm path reports the rows its tasks wrote (it used to read
the summary right after submission, before any task ran: 0 rows)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("datatrove")


def _shards(root: Path, n: int = 3) -> Path:
    root.mkdir(parents=True)
    for s in range(n):
        rows = [{"id": f"{s}-{i}", "text": f"第{s}-{i}例：高血压患者常见头晕，可以使用氨氯地平治疗，需定期复查血压。"}
                for i in range(4)]
        (root / f"{s}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return root


def test_slurm_summary_waits_for_the_tasks(tmp_path: Path, monkeypatch) -> None:
    import datatrove.executor as dx

    from medgo.data import distributed as dd

    class FakeSlurm(dx.LocalPipelineExecutor):
        """sbatch returns at once; the array job runs later, elsewhere."""

        def __init__(self, pipeline, tasks, logging_dir, job_name, time, partition, workers, **kw):
            super().__init__(pipeline=pipeline, tasks=tasks, workers=1, logging_dir=logging_dir)
            self.job_id = "4242"

        def run(self):
            def later():
                time.sleep(1.0)
                dx.LocalPipelineExecutor.run(self)
            threading.Thread(target=later, daemon=True).start()

    monkeypatch.setattr(dx, "SlurmPipelineExecutor", FakeSlurm)
    monkeypatch.setattr(dd, "slurm_job_alive", lambda job_id: None)  # no squeue here
    out = tmp_path / "out"
    s = dd.run_distributed_clean(str(_shards(tmp_path / "in")), str(out), executor="slurm", tasks=3, poll_s=0.2,
                                 slurm={"wait_timeout": 120})
    assert s["rows_in"] == 12 and s["rows_out"] + s["rejected"] == 12 and s["rows_out"] > 0


def test_a_slurm_job_that_ends_incomplete_is_an_error_not_zero_rows(tmp_path: Path) -> None:
    from medgo.data.distributed import wait_for_tasks
    from medgo.errors import DataError

    logs = tmp_path / "logs"
    (logs / "completions").mkdir(parents=True)
    (logs / "completions" / "00000").touch()
    with pytest.raises(DataError, match="1 of 2 tasks incomplete"):
        wait_for_tasks(logs, 2, job_alive=lambda: False, poll_s=0.01)
    with pytest.raises(DataError, match="gave up"):
        wait_for_tasks(logs, 2, job_alive=lambda: True, poll_s=0.01, timeout_s=0.05)
    (logs / "completions" / "00001").touch()
    wait_for_tasks(logs, 2, job_alive=lambda: False, poll_s=0.01)
