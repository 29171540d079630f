"""Given names that are ordinary words (建设, 和平, 海洋), read after a kin word (issue #16)."""

import pytest

from medgo.data.deid import deidentify


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("次子刘建设坚决反对", "刘建设"),
        ("罗荷英的母亲邓建设轮流陪护；", "邓建设"),
        ("皇甫春晖的父亲端木和平担心费用", "端木和平"),
        ("女婿陈和平每日视频探视", "陈和平"),
        ("其表妹曹和平网购", "曹和平"),
        ("其父张海洋，", "张海洋"),
    ],
)
def test_a_word_given_name_after_a_kin_word_is_masked(text: str, name: str) -> None:
    out = deidentify(text)
    assert name not in out and name[-2:] not in out


@pytest.mark.parametrize(
    "text",
    [
        "母亲高血压病史",  # the surname character is part of a word
        "母亲和女儿陪同",  # a conjunction, and a person word
        "我婆婆查身体时，查出来",  # a verb that is a rare surname
        "家属于今日到院",
        "母亲曾多次住院",
        "家属与社区医生联系",
        "家属白天陪护",
        "其母文化程度低",
        "母亲常规体检",
    ],
)
def test_kin_word_then_an_ordinary_phrase_is_kept(text: str) -> None:
    assert deidentify(text) == text


@pytest.mark.parametrize("text", ["由胡湛负责。", "请内科刘屿评估", "由何屿负责。", "赵洛会诊"])
def test_recent_given_name_characters(text: str) -> None:
    out = deidentify(text)
    assert not any(c in out for c in "屿湛洛")


@pytest.mark.parametrize(("text", "name"), [("病例2：陈海洋，肝移植术后3年", "陈海洋"), ("病例B：马骅，重型颅脑损伤", "马骅")])
def test_a_numbered_case_names_its_patient(text: str, name: str) -> None:
    assert name not in deidentify(text)


@pytest.mark.parametrize("text", ["病例1：男，65岁", "病例2：高血压，", "病例3：肺癌，"])
def test_a_numbered_case_with_no_name_is_kept(text: str) -> None:
    assert deidentify(text) == text


@pytest.mark.parametrize(("text", "name"), [("首发病例为三（2）班学生皇甫未来，发病前一晚呕吐", "皇甫未来"),
                                            ("皇甫未来的母亲曾杏花称孩子曾就诊", "皇甫未来"),
                                            ("欧阳和平、司马建军同行", "欧阳和平")])
def test_a_distinctive_compound_surname_carries_a_word_given_name(text: str, name: str) -> None:
    assert name not in deidentify(text)


@pytest.mark.parametrize("text", ["其长孙陪同来诊。", "来自濮阳市区。", "南宫市人，务农。"])
def test_compound_surnames_that_are_words_stay(text: str) -> None:
    assert deidentify(text) == text


@pytest.mark.parametrize(("text", "names"), [
    ("报告人：尉迟立夏的长孙湛秀英（+86 15728011234）", ["湛秀英", "尉迟立夏"]),  # 长孙 is a grandson, not a surname
    ("俯卧依从差；邓岚的外孙女蓟红来陪护后明显改善，蓟红帮忙翻身", ["蓟红"]),  # 来 comes before the act
    ("家族检测：菅秀枝的哥哥菅秋禾（+86 17582771234）", ["菅秋禾"]),  # rare surnames 菅, 兀
    ("静脉窦血栓；冯和谐的表妹兀鹏口服屈螺酮炔雌醇片", ["兀鹏"]),
    ("甘家和's brother 唐雨水 will accompany him", ["唐雨水"]),  # an English kin word
])
def test_relatives_after_kin_words_with_rare_surnames(text: str, names: list[str]) -> None:
    out = deidentify(text)
    assert not any(n in out for n in names), out


def test_family_head_keeps_the_name_after_it() -> None:
    out = deidentify("家长孙丽陪同就诊")
    assert "孙丽" not in out and "家长" in out


def test_a_compound_surname_that_is_a_kin_word_stays_a_surname_after_another_kin_word() -> None:
    out = deidentify("检查医师：钟华\n丈夫长孙宁陪同检查。")
    assert "长孙" not in out and "宁" not in out


@pytest.mark.parametrize(("text", "name"), [("患儿：廉洁　性别：女　年龄：4岁", "廉洁"), ("Interpreter：周密\n如有疑问", "周密"),
                                           ("Name: 赵老五　Sex: 女　Age: 52", "赵老五")])
def test_labelled_names_that_are_words(text: str, name: str) -> None:
    assert name not in deidentify(text)


def test_the_character_lian_in_words_stays() -> None:
    assert deidentify("价格低廉，廉价药物可选。") == "价格低廉，廉价药物可选。"


def test_an_english_name_field_holding_a_term_stays() -> None:
    assert deidentify("Name: 高血压　Dx: 2型糖尿病") == "Name: 高血压　Dx: 2型糖尿病"


@pytest.mark.parametrize(("text", "name"), [("转泌尿外科温润行尿动力学检查。", "温润"), ("由男科舒适复查，连续两次无精子。", "舒适")])
def test_a_clinician_named_by_a_word_between_a_department_and_an_act(text: str, name: str) -> None:
    assert name not in deidentify(text)


def test_manner_words_and_findings_between_a_department_and_an_act_stay() -> None:
    text = "眼科常规复查；ICU严密随访；皮肤科白斑复查；眼科黄斑复查；心内科高血压门诊随访。"
    assert deidentify(text) == text


def test_a_word_in_a_person_column_that_names_people_elsewhere_is_a_name() -> None:
    text = "日期 | PLT | 记录\n6月7日 | 12 | 郝楠\n6月11日 | 86 | 舒适\n评估：好转"
    out = deidentify(text)
    assert "郝楠" not in out and "舒适" not in out
    text = "时间 | 护理 | 记录\n8:00 | 常规 | 平稳\n9:00 | 常规 | 平稳"
    assert deidentify(text) == text


def test_a_letters_salutation_to_a_titled_clinician_names_her() -> None:
    out = deidentify("致校医何其远：王铁锁上课抽动请勿当众制止。")
    assert "何其远" not in out and "上课抽动" in out
    assert deidentify("致校医：请关注学生用药。") == "致校医：请关注学生用药。"


@pytest.mark.parametrize(("text", "name"), [("见证人：主管医师康衢　公证处派员到场", "康衢"),
                                           ("经办：收费处姜黄　医务科：王五", "姜黄"),
                                           ("可找病案室东方既白办理。", "东方既白"), ("护士 东方既白　急救点电话", "东方既白")])
def test_rare_words_herbs_and_literary_given_names_after_a_title_or_desk(text: str, name: str) -> None:
    assert name not in deidentify(text)


def test_a_herb_or_manner_word_after_no_title_or_desk_stays() -> None:
    text = "此处姜黄，主治医师高度怀疑，护士白班，医师常规。"
    assert deidentify(text) == text


def test_a_patient_named_like_a_listed_fruit_wine_is_still_a_name() -> None:
    assert "杨梅" not in deidentify("姓名：杨梅　性别：女")
