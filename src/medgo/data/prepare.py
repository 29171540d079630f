"""`medgo data prepare CONFIG`: clean -> dedup -> deid -> contamination (-> mix) over a corpus, each step
in its own folder with manifest and rejects, plus one summary manifest. The YAML is either this model at
top level or under a `data_prep:` key (so it can live inside a run config)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from medgo.config.data_prep import PrepareConfig
from medgo.data.contamination import check_contamination
from medgo.data.deid import DeidConfig
from medgo.data.mix import MixSource, mix
from medgo.data.steps import clean_files, dedup_files, deid_file
from medgo.errors import ConfigError


def prepare_config_for_run(run_cfg: Any, out_dir: Path) -> PrepareConfig:
    """The run config's `data.prepare` block (validated when the config was loaded) as a PrepareConfig over
    `data.corpus`, writing under `out_dir`. Contamination is checked against the run's labelled eval set
    unless the block names eval files."""
    opts = run_cfg.data.prepare.model_dump()
    opts["seed"] = run_cfg.seed if opts["seed"] is None else opts["seed"]
    cfg = PrepareConfig.model_validate({**opts, "sources": list(run_cfg.data.corpus), "out_dir": str(out_dir)})
    if not cfg.contamination.eval and run_cfg.data.eval_cls:
        cfg.contamination.eval = [run_cfg.data.eval_cls]
    return cfg


def load_prepare_config(path: str | Path) -> PrepareConfig:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({e})") from None
    raw = raw.get("data_prep", raw)
    try:
        cfg = PrepareConfig.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise ConfigError(f"{path}: data_prep.{loc}: {err['msg']}", hint="see `medgo data prepare --help`") from None
    base = path.parent  # relative paths are relative to the config file
    cfg.sources = [str(base / s) if not Path(s).is_absolute() else s for s in cfg.sources]
    cfg.contamination.eval = [str(base / s) if not Path(s).is_absolute() else s for s in cfg.contamination.eval]
    if not Path(cfg.out_dir).is_absolute():
        cfg.out_dir = str(base / cfg.out_dir)
    if cfg.mix:
        for s in cfg.mix.sources:
            s.path = str(base / s.path) if not Path(s.path).is_absolute() else s.path
    return cfg


def run_prepare(cfg: PrepareConfig) -> dict[str, Any]:
    """Run the steps in order; returns the summary manifest (also written to out_dir/manifest.json)."""
    t0 = time.perf_counter()
    out = Path(cfg.out_dir)
    steps: dict[str, Any] = {}
    steps["clean"] = clean_files(cfg.sources, out / "01-clean", filters=cfg.filters, field=cfg.field, txt_mode=cfg.txt_mode)
    current = out / "01-clean" / "clean.jsonl"
    if cfg.dedup.exact or cfg.dedup.near:
        steps["dedup"] = dedup_files([current], out / "02-dedup", cfg=cfg.dedup, field=cfg.field)
        current = out / "02-dedup" / "dedup.jsonl"
    if cfg.deid.enabled:
        dcfg = DeidConfig(**cfg.deid.model_dump(exclude={"enabled"}))
        steps["deid"] = deid_file([current], out / "03-deid" / "deid.jsonl", cfg=dcfg, fields=[cfg.field])
        current = out / "03-deid" / "deid.jsonl"
    if cfg.contamination.eval:
        c = cfg.contamination
        steps["contamination"] = check_contamination([current], c.eval, out / "04-contamination", n=c.n, drop=c.drop)
        if c.drop:
            current = out / "04-contamination" / "decontaminated.jsonl"
    if cfg.mix is not None:
        m = cfg.mix
        corpus = MixSource(path=str(current), name="corpus", weight=m.corpus_weight or (None if m.corpus_tokens else 1.0),
                           tokens=m.corpus_tokens)
        steps["mix"] = mix([corpus, *m.sources], out / "05-mix" / "mix.jsonl", total_tokens=m.total_tokens, seed=cfg.seed or 0)
        current = out / "05-mix" / "mix.jsonl"
    summary = {
        "output": str(current),
        "rows_in": steps["clean"]["rows_in"],
        "rows_out": next(reversed(steps.values()))["rows_out"],
        "steps": {k: {x: v.get(x) for x in ("rows_in", "rows_out", "rejected", "deduplicated", "reasons", "wall_s")}
                  for k, v in steps.items()},
        "wall_s": round(time.perf_counter() - t0, 3),
        "config": json.loads(cfg.model_dump_json(exclude={"deid": {"secret"}})),
    }
    (out / "manifest.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return summary
