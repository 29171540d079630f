"""Clinicians named by what they do rather than by a role word: after a department (儿科X处, 眼科X随访, 挂X号),
after 由 / 请 (由X排除, 请X会诊), opening a clause with a shift word (X交班, X夜班), and in lists ending in one."""

from __future__ import annotations

import pytest

from medgo.data.deid import deidentify


@pytest.mark.parametrize(
    "text,gone",
    [
        ("皮疹反复，建议到皮肤科沈俊处就诊。", ["沈俊"]),
        ("干眼症状由眼科韩卓随访，继续人工泪液。", ["韩卓"]),
        ("已预约2024/3/2神经内科许晋号。", ["许晋"]),
        ("经胸超声后由冯婧排除心包积液。", ["冯婧"]),
        ("拟行剖宫产，请产科彭子墨会诊。", ["彭子墨"]),
        ("术前停药已由吕涛评估，同意手术。", ["吕涛"]),
        ("病情平稳；蒋丽交班：夜间无特殊。", ["蒋丽"]),
        ("记录：韦红　宋佳、邓敏护理", ["宋佳", "邓敏"]),
        ("化验单由其夫钱继先代领。", ["钱继先"]),  # a given name of rarer characters, then an act on her behalf
        ("由住院医师孔依依办理入院。", ["孔依依"]),
        ("主管医师邵珣与肾内科陶沁雯沟通后暂停用药。", ["邵珣", "陶沁雯"]),
        ("标本由曹晓棠于2024.01.05送检。", ["曹晓棠"]),
        ("职业史由工友酆德全出具证明。", ["酆德全"]),  # contacts beside the patient, a rare surname
        ("审核医师：甯可（主任医师）、琚瑶（副主任医师）", ["甯可", "琚瑶"]),
    ],
)
def test_names_from_clinical_acts(text: str, gone: list[str]) -> None:
    out = deidentify(text)
    assert all(g not in out for g in gone), out


@pytest.mark.parametrize(
    "text",
    [
        "骨科常规处理后伤口愈合良好。",
        "由于血压控制不佳，请心内科会诊。",
        "口腔、皮肤护理每日两次。",
        "由静脉推注改为口服，待复查后决定。",
        "外科处置室负责换药。",
        "皮肤发黄的，和这个病友关吗？",  # a sentence-final particle is no given name
        "由静脉于今日改为口服。",
        "由于血压控制不佳暂缓手术。",
    ],
)
def test_clinical_acts_without_a_name_are_kept(text: str) -> None:
    assert deidentify(text) == text
