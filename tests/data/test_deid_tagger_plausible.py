"""Which tagger readings may be names, without a trained tagger (deid_tagger.plausible)."""

from medgo.data.deid_tagger import plausible


def test_a_side_and_a_body_part_is_no_name() -> None:
    t = "头颅五官无畸形，左眉弓裂伤已愈合。"
    assert not plausible(t, 8, 11, 0.95)  # 左眉弓


def test_a_person_surnamed_zuo_is_a_name() -> None:
    t = "护士左丽华执行"
    assert plausible(t, 2, 5, 0.95)


def test_a_reading_that_opens_on_a_words_last_character_is_no_name() -> None:
    t = "禁用凡士林厚涂后穿戴接受腔。"
    assert not plausible(t, 4, 6, 0.95)  # 林厚 of 凡士林|厚涂


def test_an_eponymous_disease_is_no_name() -> None:
    t = "借阅了库欣综合征、戈谢病、庞贝病病历各1份。"
    i = t.index("庞")
    assert not plausible(t, i, i + 2, 0.95) and not plausible(t, i, i + 3, 0.95)
    t = "患者王强病情稳定。"
    assert plausible(t, 2, 4, 0.95)  # 病情 after a name is the person's condition


def test_eponymous_scores_and_readings_inside_listed_terms_are_no_names() -> None:
    t = "BISAP评分2分，兰森评分3分。"
    assert not plausible(t, 9, 11, 0.95)  # 兰森|评分
    t = "急性呼吸窘迫综合征（柏林定义中度）"
    assert not plausible(t, 11, 13, 0.95)  # 林定 of 柏林定义
