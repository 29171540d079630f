"""Doctor sheets round trip (CSV and XLSX, blinded, key apart), and the whole `medgo eval run --suite clinicalqa`
on a tiny model with a baseline and a scripted judge over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medgo.cli.main import app
from medgo.data.jsonl import write_jsonl
from medgo.errors import DataError
from medgo.eval.review import export_sheet, import_sheet, read_table, write_table


def _answers(tmp_path: Path) -> Path:
    rows = [{"id": f"q{i}", "department": "心内" if i < 4 else "呼吸", "qtype": "diagnosis", "question": f"问题{i}",
             "case_text": "主诉：胸痛", "reference": "参考", "rubric": [{"point": "心电图"}],
             "answers": {"model": f"MODEL-{i}", "baseline": f"BASE-{i}"}} for i in range(6)]
    p = tmp_path / "answers.jsonl"
    write_jsonl(p, rows)
    return p


def _fill(sheet: Path, key: dict, out: Path) -> None:
    """A reviewer who prefers the model on q0-q3, ties q4, prefers the baseline on q5; model 5s, baseline 3s."""
    rows = read_table(sheet)
    for r in rows:
        k = key[r["review_id"]]
        q = int(k["id"][1:])
        model_slot = "1" if k["answer_1"] == "model" else "2"
        base_slot = "2" if model_slot == "1" else "1"
        r["preference"] = "tie" if q == 4 else model_slot if q < 4 else base_slot
        for d in ("accuracy", "completeness", "safety", "helpfulness"):
            r[f"a{model_slot}_{d}"], r[f"a{base_slot}_{d}"] = "5", "3"
    write_table(out, rows)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_review_round_trip(tmp_path: Path, suffix: str) -> None:
    sheet, keyp = export_sheet(_answers(tmp_path), tmp_path / f"review{suffix}", seed=3)
    key = json.loads(keyp.read_text(encoding="utf-8"))["key"]
    rows = read_table(sheet)
    assert len(rows) == 6 and list(rows[0])[:9] == ["review_id", "department", "qtype", "case", "question",
                                                    "reference", "rubric", "answer_1", "answer_2"]
    # blinded: the sheet names no system; both orders occur; the key recovers each answer
    assert not any("model" in v or "baseline" in v for r in rows for k, v in r.items() if k != "review_id")
    assert {k["answer_1"] for k in key.values()} == {"model", "baseline"}
    for r in rows:
        k = key[r["review_id"]]
        assert r[f"answer_{1 if k['answer_1'] == 'model' else 2}"].startswith("MODEL-")
    filled = tmp_path / f"filled{suffix}"
    _fill(sheet, key, filled)
    res = import_sheet(filled, keyp, n_boot=500)
    pw = res["pairwise"]["overall"]
    assert (pw["win"], pw["tie"], pw["loss"]) == (4, 1, 1) and pw["win_rate"] == pytest.approx(4.5 / 6)
    assert res["overall"]["model"]["accuracy"] == 5 and res["overall"]["baseline"]["safety"] == 3
    assert res["pairwise"]["by_department"]["心内"]["win"] == 4
    assert {r["id"]: r["human"]["outcome"] for r in res["rows"]}["q5"] == "loss"


def test_review_import_rejects_bad_cells(tmp_path: Path) -> None:
    sheet, keyp = export_sheet(_answers(tmp_path), tmp_path / "r.csv")
    rows = read_table(sheet)
    rows[0]["a1_safety"] = "7"
    write_table(sheet, rows)
    with pytest.raises(DataError, match="integer 1-5"):
        import_sheet(sheet)
    rows[0]["a1_safety"], rows[0]["preference"] = "", "A"
    write_table(sheet, rows)
    with pytest.raises(DataError, match="must be 1, 2 or tie"):
        import_sheet(sheet)


def _judge(p: str, n: int) -> tuple[int, str, float]:
    if "winner" in p:
        return 200, '{"winner": "A", "rationale": "x"}', 0.0
    return 200, '{"accuracy": 3, "completeness": 2, "safety": 5, "helpfulness": 3, "rationale": "x"}', 0.0


def test_cli_clinicalqa_with_baseline_judge_and_review(model_dir: Path, tmp_path: Path, judge_server,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # the project sample, whatever MEDGO_DATA says: with shared data 'all' is every converted set (--limit is per set)
    monkeypatch.delenv("MEDGO_DATA", raising=False)
    judge_server.reply = _judge
    out = tmp_path / "cqa"
    r = CliRunner().invoke(app, ["eval", "run", "--suite", "clinicalqa", "--model", str(model_dir), "--baseline",
                                 str(model_dir), "--judge-url", judge_server.url, "--judge-model", "j", "--limit", "4",
                                 "--max-new-tokens", "8", "--out", str(out), "--label", "demo judges itself"])
    assert r.exit_code == 0, r.output
    s = json.loads((out / "scores.json").read_text(encoding="utf-8"))
    assert s["n"] == 4 and s["systems"] == ["model", "baseline"] and s["labels"]["judge"] == "j"
    assert s["overall"]["model"]["accuracy"] == 3 and s["overall"]["model"]["n_rougeL"] == 4
    # model and baseline are the same model, and the judge always says A: every question a tie
    assert s["pairwise"]["overall"]["tie"] == 4 and s["pairwise"]["overall"]["win_rate_ci95"] == [0.5, 0.5]
    assert judge_server.calls == 4 * 2 + 4 * 2  # absolute for both systems + pairwise in both orders
    assert {"by_department.png", "pairwise.png"} <= {p.name for p in out.iterdir()}
    assert "demo judges itself" in r.output and "win rate" in r.output and "department: 心血管内科" in r.output
    rows = [json.loads(ln) for ln in (out / "answers.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rows[0]["pairwise"]["model_first"]["winner"] == "A"
    r2 = CliRunner().invoke(app, ["eval", "review-export", "--answers", str(out / "answers.jsonl"),
                                  "--out", str(tmp_path / "rev.xlsx")])
    assert r2.exit_code == 0, r2.output
    r3 = CliRunner().invoke(app, ["eval", "review-import", str(tmp_path / "rev.xlsx"), "--out", str(tmp_path / "rv")])
    assert r3.exit_code == 0 and "Doctor review: 4 questions" in r3.output  # empty sheet: all unjudged
    assert json.loads((tmp_path / "rv" / "review.json").read_text())["pairwise"]["overall"]["unjudged"] == 4


def test_cli_clinicalqa_reference_only_notes_skips(model_dir: Path, tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["eval", "run", "--suite", "clinicalqa", "--model", str(model_dir), "--limit", "2",
                                 "--max-new-tokens", "4", "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert "judge scores skipped" in r.output and "pairwise skipped" in r.output
    r = CliRunner().invoke(app, ["eval", "run", "--suite", "nope", "--model", str(model_dir), "--out", str(tmp_path)])
    assert "unknown suite" in str(r.exception)  # a ConfigError: exit 2 through medgo's main
