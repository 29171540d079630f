"""The learned name detector: corpus reading, name planting, training, and its use beside the rules."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from medgo.config.data_prep import DeidConfig
from medgo.data.deid import deidentify, find_phi
from medgo.data.deid_tagger_train import NameSampler, iter_texts, plant_names, segments
from medgo_testkit import DEID_NAMES_HELD_OUT as NAMES_HELD_OUT
from medgo_testkit import DEID_SENTENCES as SENTENCES


def test_iter_texts_reads_txt_json_jsonl_and_folders(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("患者诉头痛两天，无呕吐。\nok\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(json.dumps({"id": 1, "text": "患儿发热一天，体温最高39度。"}) + "\n", encoding="utf-8")
    (tmp_path / "c.json").write_text(json.dumps([{"dialogue": [{"speaker": "医生", "sentence": "您好，哪里不舒服呢？"}]}]),
                                     encoding="utf-8")
    (tmp_path / "d.txt").write_bytes("患者咳嗽咳痰一周余。".encode("gb18030"))
    got = sorted(iter_texts(tmp_path))
    assert got == sorted(["患者诉头痛两天，无呕吐。", "患儿发热一天，体温最高39度。", "您好，哪里不舒服呢？", "患者咳嗽咳痰一周余。"])


def test_segments_are_sentence_aligned_and_bounded() -> None:
    text = "患者诉头痛。" * 50 + "长" * 300
    parts = list(segments(text, 40))
    assert "".join(parts) == text
    assert max(len(p) for p in parts) <= 40
    assert parts[0].endswith("。")


def test_planted_names_are_labelled_where_they_stand() -> None:
    r = random.Random(0)
    sample = NameSampler(r, [])
    planted_any = False
    for s in SENTENCES:
        out, spans = plant_names(s, sample, r)
        for a, b in spans:
            planted_any = True
            name = out[a:b]
            assert 2 <= len(name) <= 4 and name not in s
        # outside the names (and brackets put round a kin word) the sentence is the original, at most missing
        # the role words a name replaced
        rest = "".join(c for k, c in enumerate(out) if not any(a <= k < b for a, b in spans))
        rest = rest.replace("（", "").replace("）", "").replace("(", "").replace(")", "")
        it = iter(s)
        assert all(c in it for c in rest), (s, out)
    assert planted_any


def test_tagger_finds_names_with_no_cue_that_the_rules_miss(tiny_deid_tagger: Path) -> None:
    cfg = DeidConfig(tagger=str(tiny_deid_tagger))
    found_rules = found_tagger = 0
    for name in NAMES_HELD_OUT:
        for s in ("凌晨3点患者突然坐起喊叫，予以安抚。", "患者自觉乏力3天，无发热。", "今晨患者拒绝进食，已告知医生。"):
            text = s.replace("患者", name, 1)
            found_rules += name not in deidentify(text)
            found_tagger += name not in deidentify(text, cfg)
    assert found_tagger >= 10, found_tagger  # of 15; the rules alone find none of them
    assert found_rules == 0


def test_tagger_names_are_replaced_at_every_occurrence(tiny_deid_tagger: Path) -> None:
    cfg = DeidConfig(tagger=str(tiny_deid_tagger))
    text = "凌晨2点李杭生诉胸闷，心电监护示窦性心动过速。李杭生既往体健。"
    out = deidentify(text, cfg)
    assert "李杭生" not in out and out.count("[姓名]") == 2, out


def test_tagger_keeps_clinical_words(tiny_deid_tagger: Path) -> None:
    cfg = DeidConfig(tagger=str(tiny_deid_tagger))
    text = "患者口服王不留行、白芍，血压平稳，既往高血压病史5年。"
    assert deidentify(text, cfg) == text


def test_a_missing_tagger_names_the_folder_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="medgo data deid-train"):
        find_phi("患者诉头痛。", DeidConfig(tagger=str(tmp_path / "nope")))


def test_cli_deid_with_tagger_and_deid_train_errors(tmp_path: Path, tiny_deid_tagger: Path) -> None:
    from typer.testing import CliRunner

    from medgo.cli.main import app

    src = tmp_path / "notes.jsonl"
    src.write_text(json.dumps({"text": "今晨王永福拒绝进食，已告知医生。王永福情绪低落。"}, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    out = tmp_path / "out.jsonl"
    r = CliRunner().invoke(app, ["data", "deid", "--in", str(src), "--out", str(out), "--tagger", str(tiny_deid_tagger)])
    assert r.exit_code == 0, r.output
    row = json.loads(out.read_text("utf-8").splitlines()[0])
    assert "王永福" not in row["text"] and "拒绝进食" in row["text"]
    r = CliRunner().invoke(app, ["data", "deid-train", "--corpus", str(tmp_path / "missing"), "--out", str(tmp_path / "t")])
    assert r.exit_code == 2 and "no such file or folder" in r.output
