"""Names that are words of the stop-lists (herbs, common nouns) where only a person can stand: after a clinician's
title or a department, closed by a hard edge (issue #16). And the generic person word in a signed field, and a
verb before a surname and its title."""

import pytest

from medgo.data.deid import deidentify


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("主刀韦一，助手丁香。", "丁香"),
        ("参加讨论：主治医师黄昕怡、麻醉科丁香、介入科冉然；", "丁香"),
        ("25ml），麻醉医师杜仲\n术者：潘安", "杜仲"),
        ("专科护士何首乌给予免疫治疗宣教卡", "何首乌"),
        ("签名：孕妇巫马丽　被授权人谢安澜", "巫马丽"),
        ("徐立鹏安抚刘阿姨情绪。", "刘"),
    ],
)
def test_a_listed_word_in_a_persons_place_is_masked(text: str, name: str) -> None:
    assert name not in deidentify(text)


@pytest.mark.parametrize(
    "text",
    [
        "由于右心室高压，收缩期湍流致冠状主动脉内膜损伤",  # 心室 is no department
        "转至新生儿科黄疸随访门诊　",  # a department's clinic, not its clinician
        "诊断：1.母乳性黄疸可能；",
        "这种情况该怎么办谢谢",  # 办 ends no department here, 谢谢 is no noun
        "医师签名盖章。",  # a verb of CLINICIAN_ROLES, not a title
        "陈述者：患者本人，可靠程度：可靠",
        "中医科予黄芪颗粒口服",
        "护士长白班，",  # a shift, not a name
        "护士白班，夜班各一名",
    ],
)
def test_listed_words_elsewhere_are_kept(text: str) -> None:
    assert deidentify(text) == text


def test_a_signed_field_keeps_its_generic_word_and_masks_the_name() -> None:
    out = deidentify("签名：孕妇巫马丽　日期：见上")
    assert "孕妇" in out and "巫马" not in out
