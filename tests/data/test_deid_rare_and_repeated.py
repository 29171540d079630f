"""Rare surnames (粟 蹇 侍 独孤), a repeated name after its kin word, the deceased as a patient cue, and English
reference-number labels (issue #16)."""

import pytest

from medgo.data.deid import deidentify


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("急诊护士：谯勇、粟雯　医生签名：吴畏", "粟雯"),
        ("家庭治疗每两周一次，由粟雯负责；", "粟雯"),
        ("陪诊：祖母蹇志坚（主要照看人）", "蹇志坚"),
        ("联系人：独孤敏（女儿）", "独孤敏"),
        ("死者张建国，男，65岁", "张建国"),
    ],
)
def test_a_rare_surname_or_cue_is_read(text: str, name: str) -> None:
    assert name not in deidentify(text)


def test_a_repeated_name_after_its_kin_word_is_masked_whole() -> None:
    text = "陪诊：祖母袁圆（主要照看人）\n现病史：祖母袁圆诉两天前炒了一盘青蚕豆。\n告知：袁圆自责。"
    out = deidentify(text)
    assert "袁" not in out and "圆" not in out and out.count("祖母") == 2


@pytest.mark.parametrize(
    ("text", "kept"),
    [("双肺粟粒影，考虑粟粒性肺结核", "双肺粟粒影，考虑粟粒性肺结核"), ("患者粟粒性肺结核", "患者粟粒性肺结核"),
     ("死者于2020年3月死亡，死者家属同意尸检", "，死者家属同意尸检")],
)
def test_words_of_those_characters_are_kept(text: str, kept: str) -> None:
    out = deidentify(text)
    assert out.endswith(kept) and out.startswith("死者于" if text.startswith("死者") else kept)


@pytest.mark.parametrize(
    ("text", "number"),
    [("Ref No.：P582238043　Exam Date 2024", "P582238043"), ("Report No. 26107768", "26107768"),
     ("Reference number: 2019-0031", "2019-0031")],
)
def test_english_reference_labels_mask_the_number(text: str, number: str) -> None:
    assert number not in deidentify(text)


def test_a_name_before_the_patients_ketosis_is_masked_whole() -> None:
    text = "姓名：谢诗琪　性别：女\n医师记录（侯宁）：谢诗琪酮症已纠正，可进流质。"
    out = deidentify(text)
    assert "谢" not in out and "琪" not in out and "酮症已纠正" in out


def test_the_surname_yi_is_read_after_a_kin_word() -> None:
    assert "羿红" not in deidentify("我老公羿红让我赶紧来看。")


@pytest.mark.parametrize(
    ("text", "codes"),
    [("Exam No.(检查号): P356824024    OPD No.: M-9631219", ("P356824024", "M-9631219")),
     ("编号（UDS No.）：BA2016-5546　门诊号：MZ2016801", ("BA2016-5546", "MZ2016801")),
     ("编号（UDS No.）：9323632", ("9323632",))],
)
def test_labels_with_a_bracketed_gloss_mask_their_codes(text: str, codes: tuple[str, ...]) -> None:
    out = deidentify(text)
    assert not any(c in out for c in codes)


def test_a_name_said_with_the_diminutive_er_is_replaced_with_it() -> None:
    out = deidentify("宋青瓷的姑父王翠娟儿在外地；妻子马春妮儿白天来，马春妮儿也不能在病房抽烟。")
    assert "翠娟" not in out and "春妮" not in out and "[姓名]儿" not in out


def test_words_that_end_in_er_after_a_name_stay() -> None:
    out = deidentify("患者王芳儿子陪同，王芳女儿稍后到；护士张伟一会儿再来。")
    assert "儿子陪同" in out and "女儿稍后" in out and "一会儿再来" in out
