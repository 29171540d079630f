"""Names a strong cue introduces whatever their surname (deid_cued): labels, kin and role words, titles after the
name, sex/age headers and speaker turns; and the text around such cues that must stay."""

from __future__ import annotations

import pytest

from medgo.data.deid import deidentify
from medgo.data.deid_cued import cued_names, name_like
from medgo.data.deid_names import read_name


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("受检者：门晓妍　检查号：MR2231", "门晓妍"),  # 门: a surname outside the lists, under a person label
        ("复核：秋语", "秋语"),
        ("协助：社工能岚\n记录：略", "能岚"),  # 能, a particle, with given-name stock after it, closed by the line end
        ("其丈夫陈静瑜，", "陈静瑜"),
        ("儿子冬建军说路上摔了一跤。", "冬建军"),  # a kin word, three characters of given-name stock, then 说
        ("家属可秀兰在走廊等候。", "可秀兰"),
        ("护士长云霄签字。", "云霄"),  # a name word of the dictionary (云霄 nr) before a word (签字)
        ("技师吴桐提醒患者空腹。", "吴桐"),  # a frequent surname opens it: any plausible given name
        ("杨医生请那英医生会诊。", "那英"),  # a clean left edge (请), then a clinician's title
        ("交班时，门捷护士长安排复查。", "门捷"),
        ("冷月，72岁，因右足下垂就诊。", "冷月"),  # a line that opens with a name, then the age
        ("冬梅：我晚上睡不着。\n医生：多久了？\n冬梅：快一个月。", "冬梅"),  # a speaker who takes two turns
    ],
)
def test_a_name_after_a_strong_cue_is_found_whatever_its_surname(text: str, name: str) -> None:
    out = deidentify(text)
    assert name not in out, out


@pytest.mark.parametrize(
    "text",
    [
        "审核：通过\n护士：夜班\n签名：本人",  # field values, not names
        "观察患者子宫收缩，阴道出血少。",  # 子宫 is tagged nr by the dictionary; still a body part
        "给予患者平卧硬板床。",
        "家属都同意手术。医生可考虑减量。",  # particles after the cue
        "癫痫患者能吃不？病人要忌酒。",
        "值舱医师：刘冬梅，椅旁护士蒋春晖到场",  # posts qualifying a role word (值舱医师：, 椅旁护士蒋春晖)
        "请心内科医生会诊，请上级医生查看。",
        "患者，男，45岁，咳嗽3天。",
        "医生：多喝水。\n医生：按时服药。",  # a label that opens two lines is no speaker's name
        "复发时只好让患者平躺，缩短患者寿命。该给我丈夫买些什么？高血压患者伴发叶酸下降。",  # acts after a cue
    ],
)
def test_text_around_strong_cues_that_is_no_name_is_kept(text: str) -> None:
    names = {text[a:b] for a, b, _ in cued_names(text)}
    assert not names - {"刘冬梅", "蒋春晖"}, names


def test_name_like_takes_dictionary_nouns_only_when_closed_and_opened_by_a_surname() -> None:
    assert not name_like("温柔") and name_like("温柔", closed=True)  # 温, a surname; an adjective of the dictionary
    assert not name_like("通过", closed=True)  # a preposition
    assert not name_like("病情", closed=True)  # 病 opens no name


def test_a_reading_ends_before_a_word_that_starts_in_its_last_character() -> None:
    text = "经家属徐玉珍、薛明多次沟通，志愿者宁远发现后呼叫。"
    assert read_name(text, text.index("薛明")) == 2  # 薛明 + 多次, not 薛明多
    out = deidentify(text)
    assert "薛明" not in out and "宁远" not in out and "多次沟通" in out and "发现后呼叫" in out, out


def test_names_in_person_columns_votes_and_speakers_whatever_the_surname() -> None:
    table = "姓名\t血压\t签到\n禚明轩\t130/80\t是\n"
    assert "禚明轩" not in deidentify(table)
    votes = "经门思远同意，抽血复查。门思远说下周再来。"  # a clause edge before, a person's act after, twice
    assert "门思远" not in deidentify(votes)
    once = "有心梗，患者数天来，心律血压有波动。"
    assert deidentify(once) == once
    speakers = "郑重：先减量。\n患者：好的。\n郑重：下次再看。\n郑重尊重患者的选择。"  # a dictionary word that also acts
    assert "郑重" not in deidentify(speakers)
    labels = "郑重：请按时服药。\n郑重：请复查。"  # the same word as a heading only: kept
    assert "郑重" in deidentify(labels)
