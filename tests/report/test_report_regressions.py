"""The report on a constructed regression: the flag at the top of report.md (and .html) with its lever, the
full table, and eval.regressions=fail stopping the run with an error that names the regression."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from medgo.config.loader import load_config
from medgo.eval.regressions import Items, _ppl, compare, to_json
from medgo.report import stage as report_stage
from medgo.report.regressions import RegressionError
from medgo.run_dir import RunDir
from medgo.stage import StageContext

REPO = Path(__file__).resolve().parents[2]


def _run_dir(tmp_path: Path, sft_scale: float) -> RunDir:
    """eval/results.json + eval/regressions.json as the eval stage writes them: init 8, pretrain 5, sft
    `sft_scale` nats per token on 60 held-out documents (perplexity ~ exp(scale x 1.15))."""
    rng = random.Random(0)
    items = {m: {"perplexity": Items({str(i): (s * 20 * (1 + 0.3 * rng.random()), 20, 30) for i in range(60)}, _ppl)}
             for m, s in (("init", 8.0), ("pretrain", 5.0), ("sft", sft_scale))}
    results = {m: {"perplexity": it["perplexity"].agg(list(it["perplexity"].values.values())), "bits_per_char": 1.0}
               for m, it in items.items()}
    rd = RunDir(tmp_path / "run")
    ev = rd.stage("eval")
    ev.mkdir(parents=True)
    (ev / "results.json").write_text(json.dumps(results), encoding="utf-8")
    (ev / "regressions.json").write_text(json.dumps({"comparisons": [to_json(c) for c in compare(results, items, 300)]},
                                                    ensure_ascii=False), encoding="utf-8")
    rd.stage("report").mkdir()
    return rd


def _report(rd: RunDir, mode: str):
    # quoted: YAML reads a bare `off` as false
    cfg = load_config(REPO / "configs" / "demo.yaml", [f"eval.regressions='{mode}'"])
    ctx = StageContext("report", rd, rd.stage("report"), stages=("data", "eval", "report"))
    return report_stage.run(cfg, ctx)


def test_flag_at_top_with_lever_and_table(tmp_path) -> None:
    rd = _run_dir(tmp_path, sft_scale=7.0)
    res = _report(rd, "warn")
    assert res.metrics["regressions_flagged"] == 1
    md = (rd.stage("report") / "report.md").read_text(encoding="utf-8")
    head = md.split("## Stages")[0]
    assert "## Regressions flagged (1)" in head
    flag = next(line for line in head.splitlines() if line.startswith("- SFT: held-out perplexity"))
    assert ", worse (vs pre-training; 95% CI of the change +" in flag and "Likely lever: replay pre-training text" in flag
    assert "## Regressions across stages" in md and "⚑" in md.split("## Regressions across stages")[1]
    assert "SFT: held-out perplexity" in (rd.stage("report") / "report.html").read_text(encoding="utf-8")


def test_fail_stops_with_the_regression_named(tmp_path) -> None:
    rd = _run_dir(tmp_path, sft_scale=7.0)
    with pytest.raises(RegressionError, match=r"SFT: held-out perplexity [\d,]+ → [\d,]+, worse") as e:
        _report(rd, "fail")
    assert e.value.exit_code == 3 and "replay pre-training text" in str(e.value)
    assert (rd.stage("report") / "report.md").is_file()  # the report is written before the run stops


def test_off_and_no_regression(tmp_path) -> None:
    rd = _run_dir(tmp_path, sft_scale=7.0)
    assert _report(rd, "off").metrics["regressions_flagged"] == 0
    assert "Regressions flagged" not in (rd.stage("report") / "report.md").read_text(encoding="utf-8")
    rd2 = _run_dir(tmp_path / "b", sft_scale=4.0)  # SFT better than pre-training: nothing to flag, fail passes
    assert _report(rd2, "fail").metrics["regressions_flagged"] == 0
