"""A name with no cue at all that recurs in a note (deid_names._repeated_names), and the dictionary
segmentation that keeps recurring clinical words out of it."""

from __future__ import annotations

import pytest

from medgo.data.deid import deidentify
from medgo.data.deid_names import crosses_words, word_cuts


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("凌晨两点邵建勋陪妻子来急诊。问诊时邵建勋说她有糖尿病，邵建勋签字同意抽血。", ["邵建勋"]),
        ("韦秀琼和邻居把岑宗耀扶上平车。韦秀琼说岑宗耀今早吃过降压药，岑宗耀否认胸痛。", ["韦秀琼", "岑宗耀"]),
        ("上午欧阳振宇来换药，伤口干燥。下午欧阳振宇诉切口痒。", ["欧阳振宇"]),
    ],
)
def test_a_recurring_name_with_no_cue_is_found(text: str, names: list[str]) -> None:
    out = deidentify(text)
    for n in names:
        assert n not in out, out
    assert "糖尿病" in out or "糖尿病" not in text


@pytest.mark.parametrize(
    "text",
    [
        "沿输尿管走形无压痛。复查：沿输尿管走形区无压痛。",
        "行广泛全子宫切除术。病理：全子宫及两附件未见癌。",
        "能吃乌鸡白凤丸吗？乌鸡白凤丸有什么疗效？",
        "口服阿莫西林胶囊，阿莫西林过敏者禁用。",
        "左膝关节肿痛，左膝关节积液，左膝关节活动受限。",
        "予安素泰240mg化疗，次周期安素泰210mg。",
        "三尖瓣关闭不全，二尖瓣关闭不全。",
    ],
)
def test_recurring_clinical_words_are_kept(text: str) -> None:
    assert deidentify(text) == text


def test_a_recurring_place_is_no_name() -> None:
    out = deidentify("滦平县张百湾镇人，现住张百湾镇。")
    assert "[姓名]" not in out and "张百湾" not in out, out  # an address, masked as one


def test_the_longer_name_wins_over_a_reading_inside_it() -> None:
    out = deidentify("史文斌说好。史文斌说不用了。")
    assert "史文斌" not in out and "说" in out, out


def test_crossing_words_of_the_segmentation() -> None:
    text = "沿输尿管走形无压痛"
    cuts = word_cuts(text)
    assert crosses_words(cuts, 3, 6)  # 管走形: 输尿管 runs across its start
    text = "护士经查磊核对"
    assert not crosses_words(word_cuts(text), 3, 5)  # 经查: a particle joined to the surname does not count
    text = "岁高血压的寿命能有多长"
    assert crosses_words(word_cuts(text), 5, 8)  # 寿命: surname + first given character is a common word


def test_names_in_a_table_column_headed_by_a_person_field() -> None:
    text = ("交接班\n| 床号 | 姓名 | 诊断 | 主管医生 |\n| 3 | 卓永红 | 慢性阻塞性肺疾病 | 柏文斌 |\n"
            "| 7 | 詹诗涵 | 2型糖尿病 | 乔海波、韩梅 |\n次日交班。")
    out = deidentify(text)
    for n in ("卓永红", "柏文斌", "詹诗涵", "乔海波", "韩梅"):
        assert n not in out, out
    assert "主管医生" in out and "慢性阻塞性肺疾病" in out and "2型糖尿病" in out
    tabs = "时间\t执行人\t内容\n08:00\t蒲晓\t测血压\n09:00\t石磊\t静脉输液\n"
    out = deidentify(tabs)
    assert "蒲晓" not in out and "石磊" not in out and "静脉输液" in out, out


def test_a_table_without_a_person_column_is_kept() -> None:
    text = "| 项目 | 结果 |\n| 白细胞 | 12.1 |\n| 高血压 | 有 |\n| 黄疸 | 无 |"
    assert deidentify(text) == text


def test_given_names_with_day_and_year_characters_after_a_cue() -> None:
    assert "陈天明" not in deidentify("医师：陈天明　2013.11.10")
    assert "祝天明" not in deidentify("已告知家属祝天明。")
    for text in ("家属李前天来过。", "其子张中午来。", "患者3天前发热。"):
        assert deidentify(text) == text
