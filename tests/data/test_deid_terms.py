"""Drug names and listed clinical terms are not read as names (#16, terms kept); a name beside one still is."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medgo.cli.main import app
from medgo.config.data_prep import DeidConfig
from medgo.data.deid import deidentify, find_phi
from medgo.data.deid_terms import (
    TermIndex,
    drugs_in_text,
    in_drug_name,
    load_terms,
    mine_drugs,
    terms_from_corpus,
)
from medgo.errors import DataError

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("MEDGO_DATA", ROOT.parent / "shared/data"))
CMEEE = SHARED / "cblue/honeyandme_knowledge/data/CMeEE-V2/CMeEE-V2_dev.json"


@pytest.mark.parametrize(("text", "name"), [
    ("多奈哌齐5mg", "多奈"),  # a chemistry character right after the reading
    ("罗红霉素0.15g", "罗红"),  # a drug stem right after it
    ("罗哌卡因局麻", "罗哌"),
    ("托烷司琼止吐", "司琼"),  # a chemistry character right before it
    ("格列齐德缓释片", "格列齐德"),  # a release form runs on
    ("复方丹参滴丸", "丹参"),  # a dosage form of two characters right after it
    ("洛索洛芬钠片", "洛索"),  # a stem (洛芬), a salt (钠)
    ("苯溴马隆", "马隆"),
])
def test_readings_inside_drug_names(text: str, name: str) -> None:
    a = text.index(name)
    assert in_drug_name(text, a, a + len(name))


@pytest.mark.parametrize(("text", "name"), [
    ("王芳查房", "王芳"),
    ("孙建国发现药片", "孙建国"),  # any dosage form after a name is not a drug's name
    ("王芳肝功能正常", "王芳"),  # one character of a stem (肝素) is not enough
    ("予王芳头孢曲松", "王芳"),  # a drug's opening right after a name
    ("王芳口服液体石蜡", "王芳"),  # 口服液 / 注射液 are no forms here: a name stands before them
    ("给王芳注射液体", "王芳"),
])
def test_names_beside_drugs_stay_names(text: str, name: str) -> None:
    a = text.index(name)
    assert not in_drug_name(text, a, a + len(name))


@pytest.mark.parametrize(("text", "word", "drug"), [
    ("吞服家中舒乐安定约20片", "舒乐安定", True),  # a dose after 约
    ("20183484101\t依达拉奉\t30mg\t6支", "依达拉奉", True),  # the next cell of a table holds the dose
    ("止痛原用高乌甲素", "高乌甲素", True),
    ("王芳\t45岁\t女", "王芳", False),
    ("王芳约20分钟后到达", "王芳", False),
    # a drug's other name in brackets, or a drug in brackets after the word, or brackets then a dose
    ("曲美他嗪（万爽力）、单硝酸异山梨酯", "万爽力", True),
    ("马来酸曲美布汀（舒丽启能）", "舒丽启", True),  # the first characters of the bracketed word
    ("可换成施慧达（左旋氨氯地平）", "施慧达", True),
    ("坦索罗辛（哈乐）0.2mg qn，另嘱与哈乐间隔4小时", "哈乐", True),
    ("乳果糖（杜密克）15ml", "杜密克", True),
    ("服替诺福韦（韦瑞德）", "韦瑞德", True),  # INN stems: -fovir 福韦, -lukast 司特, -limus 莫司, -taxel 他赛
    ("孟鲁司特（顺尔宁）", "顺尔宁", True),
    # a 、-list beside a drug
    ("银杏叶片、金纳多、钙尔奇D", "金纳多", True),
    ("华蟾素、金复康口服液等勿自行加用", "华蟾", True),
    # people in brackets and lists stay people
    ("主治医师（王芳）查房", "王芳", False),
    ("王芳（主治医师）", "王芳", False),
    ("护士王芳、李强核对", "王芳", False),
    ("予头孢、王芳陪同", "王芳", False),
    ("审方药师：韩冬（韩冬备注：与钙剂间隔服用）", "韩冬", False),  # the brackets hold a remark, not a word
    ("王芳(13812345678)", "王芳", False),
])
def test_words_used_as_drugs(text: str, word: str, drug: bool) -> None:
    from medgo.data.deid_terms import used_as_drug

    assert used_as_drug(text, word) is drug


def test_term_index_cuts_readings() -> None:
    idx = TermIndex(["甘利欣", "华法林", "安定", "张力", "高血压", "阿司匹林"])
    assert len(idx) == 5  # 阿司匹林 opens with no surname character: no reading can eat it
    t = "停用甘利欣"
    assert idx.cut(t, 2, 5) == 2  # the whole reading is a three-character term
    t = "患者王芳华法林口服"
    assert idx.cut(t, 2, 5) == 4  # 王芳华 -> 王芳
    t = "患者李安定期复查"
    assert idx.cut(t, 2, 4) == 4  # 李安 keeps its two characters
    t = "张力医生"
    assert idx.cut(t, 0, 2) == 2  # a two-character term as long as the reading may be a name
    t = "患者高血压"
    assert idx.cut(t, 2, 4) == 2  # 高血 of 高血压


def test_term_list_keeps_drug_brand_names(tmp_path: Path) -> None:
    text = "主治医师：王海燕。施维舒护胃，施维舒饭前服。"
    terms = tmp_path / "formulary.txt"
    terms.write_text("# hospital formulary\n施维舒\t胃黏膜保护剂\n", encoding="utf-8")
    assert "施维舒" not in deidentify(text)  # a repeated three-character word is read as a name without the list
    out = deidentify(text, DeidConfig(clinical_terms=[str(terms)]))
    assert out.count("施维舒") == 2 and "王海燕" not in out


@pytest.mark.parametrize("text", [
    "加用施维舒护胃，施维舒每日三次。",  # the object of a drug verb, at one of its mentions
    "甘利欣150mg静滴，甘利欣共用14天。",  # a dose after it
])
def test_a_word_used_as_a_drug_is_kept_everywhere(text: str) -> None:
    assert deidentify(text) == text


def test_names_are_found_beside_drug_verbs() -> None:
    out = deidentify("主治医师：王海燕。王海燕嘱停用甘草片。责任护士李春梅予口服药。")
    assert "王海燕" not in out and "李春梅" not in out and "甘草片" in out


def test_consistency_does_not_bring_a_term_back(tmp_path: Path) -> None:
    """A string found as a name elsewhere in the note is not masked where it opens a listed term."""
    terms = tmp_path / "t.txt"
    terms.write_text("华法林\n", encoding="utf-8")
    text = "主治医师：华法。患者长期华法林抗凝。"
    spans = find_phi(text, DeidConfig(clinical_terms=[str(terms)]))
    assert [text[s.start:s.end] for s in spans if s.type == "NAME"] == ["华法"]


def test_missing_term_list_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nope.txt.*deid-terms"):
        load_terms((str(tmp_path / "nope.txt"),))


def test_terms_from_corpus_formats(tmp_path: Path) -> None:
    cmeee = tmp_path / "cmeee.json"
    cmeee.write_text(json.dumps([
        {"text": "予华法林抗凝", "entities": [{"start_idx": 1, "end_idx": 3, "type": "dru", "entity": "华法林"}]},
        {"text": "张力增高", "entities": [{"start_idx": 0, "end_idx": 1, "type": "sym", "entity": "张力"}]},
        {"text": "阿司匹林", "entities": [{"start_idx": 0, "end_idx": 3, "type": "dru", "entity": "阿司匹林"}]},
        {"text": "胃镜室", "entities": [{"start_idx": 0, "end_idx": 2, "type": "dep", "entity": "胃镜室"}]},
    ], ensure_ascii=False), encoding="utf-8")
    qaner = tmp_path / "qa.jsonl"
    qaner.write_text(json.dumps({"text": "易坦静好吗", "mention_data": [
        {"mention": "易坦静", "type": "drug", "offset": "0"}]}, ensure_ascii=False) + "\n", encoding="utf-8")
    got = terms_from_corpus([cmeee, qaner], is_name=lambda w: w in ("张力", "易坦静"))
    # no surname opening (阿司匹林), a department, a person's name (张力): left out; a drug the dictionary takes for a
    # name (易坦静) stays
    assert got == ["华法林", "易坦静"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a"}\n{oops\n', encoding="utf-8")
    with pytest.raises(DataError, match="bad.jsonl:2"):
        terms_from_corpus([bad])


def test_deid_terms_and_deid_cli(tmp_path: Path) -> None:
    cmeee = tmp_path / "cmeee.json"
    cmeee.write_text(json.dumps([{"text": "加用施维舒", "entities": [
        {"start_idx": 2, "end_idx": 4, "type": "dru", "entity": "施维舒"}]}], ensure_ascii=False), encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(app, ["data", "deid-terms", "--in", str(cmeee), "--out", str(tmp_path / "terms.txt")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "terms.txt").read_text(encoding="utf-8") == "施维舒\n"
    notes = tmp_path / "notes.jsonl"
    notes.write_text(json.dumps({"text": "施维舒护胃，施维舒每日三次。"}, ensure_ascii=False) + "\n", encoding="utf-8")
    res = runner.invoke(app, ["data", "deid", "--in", str(notes), "--out", str(tmp_path / "out.jsonl"),
                              "--terms", str(tmp_path / "terms.txt")])
    assert res.exit_code == 0, res.output
    row = json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert row["text"].count("施维舒") == 2
    res = runner.invoke(app, ["data", "deid", "--in", str(notes), "--out", str(tmp_path / "o2.jsonl"),
                              "--terms", str(tmp_path / "missing.txt")])
    assert res.exit_code == 2 and "missing.txt" in res.output


@pytest.mark.skipif(not CMEEE.is_file(), reason="CMeEE-V2 not available (../shared/data)")
def test_terms_from_the_real_cmeee() -> None:
    terms = terms_from_corpus([CMEEE])
    assert len(terms) > 300
    assert {"金刚烷胺", "华法林", "沙丁胺醇"} <= set(terms)
    assert all(t[0] != "阿" for t in terms)


def test_terms_from_a_formulary_of_drug_monographs(tmp_path: Path) -> None:
    formulary = tmp_path / "drug.json"
    formulary.write_text(json.dumps([
        "华法林\n药品类型:抗凝血药\n别名:苄丙酮香豆素、华法令\n剂型:片剂：2.5mg",
        "阿莫西林\n别名:阿莫仙、安必仙\n用法用量:口服",
    ], ensure_ascii=False), encoding="utf-8")
    assert terms_from_corpus([formulary]) == ["华法令", "华法林", "安必仙"]  # 苄…, 阿莫… open with no surname


def test_address_reading_starting_inside_a_name_leaves_the_name_whole() -> None:
    out = deidentify("经办情况：欧阳兰芝到窗口办理，称欧阳兰芳已住进南京鼓楼医院重症监护室。")
    assert "欧阳" not in out and "兰芳" not in out


@pytest.mark.parametrize(("text", "words"), [
    ("口服温胃舒胶囊每日两次", {"温胃舒"}),  # after a drug verb, before a dosage form
    ("加用万爽力20mg，睡前", {"万爽力"}),  # before a dose
    ("现用：华法林2.5mg、金纳多40mg；", {"华法林", "金纳多"}),  # at a clause's or a list item's start, before a dose
    ("嚼服金钙尔奇片", {"金钙尔奇"}),  # a one-character form after a drug verb
    ("左侧睾丸肿大，宫颈涂片正常", set()),  # a one-character form after a clause start: body parts, tests
    ("建议服用任何药物之前咨询医生", set()),  # no dose, no dosage form
    ("患者包括宫颈涂片在内", set()),
    ("王芳口服阿莫西林胶囊", set()),  # the name before the verb is not in the drug's place; 阿 opens no surname
])
def test_drugs_in_text(text: str, words: set[str]) -> None:
    assert set(drugs_in_text(text)) == words


def test_mine_drugs_needs_two_texts_and_drops_dictionary_names() -> None:
    texts = ["口服温胃舒胶囊", "加用温胃舒胶囊2粒", "口服舒心胶囊", "开了张伟10mg"]
    assert mine_drugs(texts) == ["温胃舒"]
    assert mine_drugs(texts, min_docs=1) == ["张伟", "温胃舒", "舒心"]
    assert mine_drugs(texts, min_docs=1, is_name=lambda w: w == "张伟") == ["温胃舒", "舒心"]


def test_mined_words_keep_a_brand_name_a_tagger_would_read(tmp_path: Path) -> None:
    # a brand name dosed in other notes of the corpus is kept in a note that only mentions it
    notes = tmp_path / "notes.jsonl"
    notes.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in
                             ["胃痛，口服温胃舒胶囊2粒", "加用温胃舒胶囊后好转", "王芳说温胃舒效果不错。"]), encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(app, ["data", "deid-terms", "--mine", str(notes), "--out", str(tmp_path / "terms.txt")])
    assert res.exit_code == 0, res.output
    assert "温胃舒" in (tmp_path / "terms.txt").read_text(encoding="utf-8").split()
    assert load_terms((str(tmp_path / "terms.txt"),)).term_at("王芳说温胃舒效果不错", 3) == 3
    res = runner.invoke(app, ["data", "deid-terms", "--out", str(tmp_path / "t2.txt")])
    assert res.exit_code == 2 and "--mine" in res.output
    res = runner.invoke(app, ["data", "deid-terms", "--mine", str(tmp_path / "nope"), "--out", str(tmp_path / "t3.txt")])
    assert res.exit_code == 2 and "nope" in res.output


def test_carbapenem_stem_and_gauze_end_a_drug_name() -> None:
    from medgo.data.deid_terms import in_drug_name

    assert in_drug_name("覆盖凡士林纱布及", 4, 6)  # 林纱|布: a dressing runs on
    assert in_drug_name("对美罗培南耐药", 1, 3)  # 美罗|培南
