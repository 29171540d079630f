from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from medgo.cli.data_cmd import app
from medgo.data.contamination import check_contamination
from medgo.data.mix import MixSource, mix
from medgo.data.prepare import load_prepare_config, run_prepare

EVAL = "患者女性，六十二岁，反复上腹部疼痛伴反酸嗳气两年，胃镜提示慢性萎缩性胃炎伴肠化生"
DOCS = [
    "医生说：" + EVAL[:20] + "，建议复查。",  # 20 shared chars: contaminated at n=13
    "今天天气很好，适合户外散步，注意防晒补水，预防中暑发生。",
]


def test_contamination_per_eval_and_drop(write_jsonl, tmp_path, rows):
    train = write_jsonl("train.jsonl", [{"id": i, "text": t} for i, t in enumerate(DOCS)])
    ev = write_jsonl("dev.jsonl", [{"text": EVAL, "label": "x"}, {"text": "完全无关的另一条评测样本文字内容"}, {"text": "短"}])
    m = check_contamination([train], [ev], tmp_path / "c", drop=True)
    assert m["per_eval"][str(ev)] == {"rows": 3, "contaminated": 1, "too_short": 1, "rate": 0.3333}
    assert [r["id"] for r in rows(tmp_path / "c" / "decontaminated.jsonl")] == [1]
    assert m["rejected"] == 1 and m["rows_in"] == 2


def test_mix_weights_and_tokens(write_jsonl, tmp_path, rows):
    a = write_jsonl("a.jsonl", [{"id": i, "text": "字" * 10} for i in range(100)])
    b = write_jsonl("b.jsonl", [{"id": i, "text": "字" * 10} for i in range(10)])
    m = mix([MixSource(path=str(a), weight=1), MixSource(path=str(b), weight=1)], tmp_path / "m.jsonl", total_tokens=400)
    out = rows(tmp_path / "m.jsonl")
    assert sum(1 for r in out if r["source"] == "b") == 20  # 2x up-sampled with repeats
    assert abs(sum(1 for r in out if r["source"] == "a") - 20) <= 8
    assert m["per_source"][str(b)]["ratio"] == 2.0
    m2 = mix([MixSource(path=str(a), tokens=100)], tmp_path / "m2.jsonl")
    assert m2["per_source"][str(a)]["target_tokens"] == 100
    assert rows(tmp_path / "m2.jsonl") == rows(tmp_path / "m2.jsonl")  # deterministic output


def test_prepare_end_to_end_and_cli(tmp_path: Path, rows):
    src = tmp_path / "corpus.txt"
    doc = "患者张三，男，45岁，因发热三天于2023年5月6日入院，电话13812345678，予以抗感染治疗后好转出院。"
    src.write_bytes(("\n\n".join([doc, doc, "短", EVAL + "。"]) + "\n").encode("gb18030"))
    ev = tmp_path / "dev.jsonl"
    ev.write_text('{"text": "' + EVAL + '"}\n', encoding="utf-8")
    cfg = tmp_path / "prep.yaml"
    cfg.write_text("data_prep:\n  sources: [corpus.txt]\n  out_dir: out\n  contamination: {eval: [dev.jsonl]}\n", encoding="utf-8")
    m = run_prepare(load_prepare_config(cfg))
    s = m["steps"]
    assert (s["clean"]["rows_in"], s["clean"]["rows_out"]) == (4, 3)
    assert s["dedup"]["deduplicated"] == 1 and s["contamination"]["rejected"] == 1
    final = rows(Path(m["output"]))
    assert len(final) == 1 and "[姓名]" in final[0]["text"] and "13812345678" not in final[0]["text"]
    res = CliRunner().invoke(app, ["prepare", str(cfg)])
    assert res.exit_code == 0, res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("data_prep:\n  sources: [a]\n  dedup: {threshold: 2}\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["prepare", str(bad)])
    assert res.exit_code == 2 and "dedup.threshold" in res.output


def test_cli_user_errors_exit_2(tmp_path):
    r = CliRunner()
    res = r.invoke(app, ["clean", "--in", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "not found" in res.output
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 64)
    res = r.invoke(app, ["dedup", "--in", str(junk), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "binary" in res.output
    res = r.invoke(app, ["mix", "--source", "a.jsonl:x", "--out", str(tmp_path / "m.jsonl")])
    assert res.exit_code == 2
