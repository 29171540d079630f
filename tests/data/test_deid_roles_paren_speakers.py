"""Names in parentheses after their role word, and the speakers of a written conversation (issue #16)."""

from __future__ import annotations

from medgo.data.deid import deidentify


def test_name_in_parentheses_after_its_role_word() -> None:
    text = "告知医师（魏国强）向患者（孔令仪）及其监护人（孔祥熙）说明手术风险。"
    out = deidentify(text)
    for name in ("魏国强", "孔令仪", "孔祥熙"):
        assert name not in out
    assert out.count("[姓名]") == 3


def test_clinical_words_in_parentheses_stay() -> None:
    text = "患者（男性）既往高血压，医师（主治）建议复查，家属（配偶）同意。"
    assert deidentify(text) == text


def test_speakers_of_a_conversation_are_names() -> None:
    text = "随访记录\n韩卫东：您好，我是心内科随访护士。\n范秋菊：你好，我最近血压还行。\n韩卫东：药按时吃吗？"
    out = deidentify(text)
    assert "韩卫东" not in out and "范秋菊" not in out
    assert "血压还行" in out


def test_one_form_label_line_is_not_a_speaker() -> None:
    text = "入院记录\n主诉：胸闷3天\n查体：心率88次/分\n诊断：冠心病"
    assert deidentify(text) == text


def test_an_anaesthetist_in_brackets_after_the_anaesthesia_is_a_name() -> None:
    out = deidentify("麻醉：经口插管全麻（金晶；丙泊酚、瑞芬太尼、顺阿曲库铵）　器械护士：吴悦")
    assert "金晶" not in out and "丙泊酚" in out and "瑞芬太尼" in out


def test_drugs_in_brackets_after_the_anaesthesia_stay() -> None:
    text = "全麻（丙泊酚）；局麻（利多卡因，2%）；镇静（咪达唑仑、芬太尼）；局麻（高龄，心功能差）。"
    assert deidentify(text) == text


def test_a_relative_named_by_a_word_before_a_bracket_with_her_post_is_a_name() -> None:
    out = deidentify("表姐方寸（本院药剂科）替患者核对了用药。")
    assert "方寸" not in out and "本院药剂科" in out
    assert deidentify("其母高血压（心内科）随访；其父白内障（眼科）。") == "其母高血压（心内科）随访；其父白内障（眼科）。"
