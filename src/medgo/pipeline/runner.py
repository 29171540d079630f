"""Run stages in order; skip a stage whose DONE marker and fingerprint match; resume interrupted ones."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from medgo import __version__
from medgo.config import check_inputs, section_hash
from medgo.config.schema import RunConfig
from medgo.errors import MedgoError
from medgo.log import console, get_logger
from medgo.pipeline.launch import follow_stage, machine_rank, run_distributed
from medgo.pipeline.registry import STAGES, stage_module
from medgo.run_dir import DONE, FINGERPRINT, MANIFEST, TRAIN_STAGES, RunDir
from medgo.stage import StageContext, StageResult

log = get_logger(__name__)

def run_root(cfg: RunConfig, out: str | Path | None) -> Path:
    return Path(out) if out else Path(cfg.output_dir) / cfg.name


def fingerprint(cfg: RunConfig, name: str, rd: RunDir) -> tuple[str, dict[str, Any]]:
    """Hash of this stage's config plus the run ids of every earlier stage: a rerun upstream reruns us."""
    mod = stage_module(name)
    upstream = {}
    for s in STAGES[: STAGES.index(name)]:
        m = rd.manifest(s)
        upstream[s] = m.get("run_id") if (m and rd.is_done(s)) else None
    parts = {"stage": name, "config": section_hash(mod.config_for_hash(cfg)), "seed": cfg.seed, "upstream": upstream}
    return section_hash(parts), parts


def _write_manifest(
    ctx: StageContext, cfg: RunConfig, fp: str, parts: dict, res: StageResult, t0: float, started: str
) -> dict:
    manifest = {
        "stage": ctx.name,
        "status": res.status,
        "run_id": uuid.uuid4().hex,
        "fingerprint": fp,
        "config_hash": parts["config"],
        "inputs": parts["upstream"],
        "seed": cfg.seed,
        "metrics": res.metrics,
        "counts": res.counts,
        "wall_time_s": round(time.time() - t0, 3),
        "started_at": started,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "medgo_version": __version__,
        **res.extra,
    }
    (ctx.out / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    (ctx.out / DONE).write_text(manifest["finished_at"] + "\n", encoding="utf-8")
    return manifest


def run_stage(cfg: RunConfig, name: str, rd: RunDir, *, force: bool = False) -> tuple[dict, bool]:
    """Run one stage unless it is complete with the same fingerprint. Returns (manifest, ran)."""
    for s in STAGES[: STAGES.index(name)]:
        if not rd.is_done(s):
            raise MedgoError(
                f"stage {name!r} needs stage {s!r} first, and {rd.stage(s)} is not complete",
                hint=f"run `medgo run` (all stages) or `medgo stage {s}` first",
            )
    fp, parts = fingerprint(cfg, name, rd)
    out = rd.stage(name)
    if not force and rd.is_done(name):
        m = rd.manifest(name) or {}
        if m.get("fingerprint") == fp:
            return m, False
    if machine_rank() > 0:  # multi-node: node 0 runs the stage; this node joins its training processes, waits
        return follow_stage(cfg, name, rd, fp), True
    # Same fingerprint as an interrupted attempt: keep its checkpoints and resume. Otherwise start clean.
    fp_file = out / FINGERPRINT
    resume = (not force) and fp_file.is_file() and fp_file.read_text().strip() == fp
    if resume:
        (out / DONE).unlink(missing_ok=True)
    else:
        rd.reset_stage(name)
        fp_file.write_text(fp + "\n")
    ctx = StageContext(name=name, run=rd, out=out, resume=resume, stages=tuple(STAGES))
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t0 = time.time()
    res: StageResult
    if name in TRAIN_STAGES and getattr(cfg, name).num_processes > 1 and getattr(cfg, name).enabled:
        res = run_distributed(cfg, name, ctx)
    else:
        res = stage_module(name).run(cfg, ctx)
    return _write_manifest(ctx, cfg, fp, parts, res, t0, started), True


def run_pipeline(
    cfg: RunConfig, out: str | Path | None = None, *, stages: list[str] | None = None
) -> tuple[RunDir, list[dict]]:
    check_inputs(cfg)
    rd = RunDir(run_root(cfg, out))
    rd.root.mkdir(parents=True, exist_ok=True)
    (rd.root / "config.resolved.json").write_text(
        json.dumps(cfg.model_dump(mode="json"), ensure_ascii=False, indent=2), encoding="utf-8"
    )
    summary = []
    for name in stages or STAGES:
        t0 = time.time()
        console.rule(f"[bold]stage {name}")
        manifest, ran = run_stage(cfg, name, rd)
        dt = time.time() - t0
        status = manifest.get("status", "done")
        if ran:
            console.print(f"[green]✓[/] {name}: {status} in {dt:.1f}s {_short_metrics(manifest)}")
        else:
            console.print(f"[dim]↷ {name}: skipped (complete, config unchanged)[/]")
        summary.append({"stage": name, "ran": ran, "status": status, "seconds": round(dt, 2)})
    return rd, summary


def _short_metrics(manifest: dict) -> str:
    m = manifest.get("metrics") or {}
    keys = [k for k in m if isinstance(m[k], (int, float))][:4]
    return " ".join(f"{k}={m[k]:.4g}" for k in keys)
