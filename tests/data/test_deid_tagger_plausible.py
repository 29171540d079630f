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


def test_an_acupoint_or_a_lamp_is_no_name_wherever_the_point_stands() -> None:
    t = "因上次埋线后左梁丘穴处硬结，本次改取曲池。左梁丘旧硬结约0.8cm。"
    i = t.index("梁丘")
    assert not plausible(t, i, i + 3, 0.95)  # 梁丘穴
    j = t.index("梁丘旧")
    assert not plausible(t, j, j + 3, 0.95)  # the same point, no 穴 after it here
    t = "鼻出血1次。伍德灯下鼻翼毛囊口仍见珊瑚红色荧光。"
    i = t.index("伍德")
    assert not plausible(t, i, i + 2, 0.95) and not plausible(t, i, i + 3, 0.95)
    t = "眼科张嘉懿裂隙灯见凯-弗环。医疗站负责人：梁栋"
    i = t.index("张嘉懿")
    assert plausible(t, i, i + 3, 0.95)  # a name before 裂隙灯
    assert plausible(t, len(t) - 2, len(t), 0.95)  # a name that ends the text


def test_a_drug_the_patient_stopped_is_no_name() -> None:
    from medgo.data.deid import deidentify

    t = '平时吃万爽力和可定。"患者程长江诉老人近一周自行把万爽力停了。'
    out = deidentify(t)
    assert out.count("万爽力") == 2 and "程长江" not in out


def test_a_reading_that_runs_a_drug_into_the_next_word_is_no_name() -> None:
    t = "氯氮平减至150mg，加芮达（帕利哌酮缓释片）3mg qn。段文解释芮达锥体外系反应相对少。"
    i = t.rindex("芮达")
    assert not plausible(t, i, i + 3, 0.95)  # 芮达|锥


def test_an_eponymous_sign_or_a_rating_scale_is_no_name() -> None:
    t = "臂丛神经牵拉试验右(+)，霍夫曼征双侧阴性。"
    i = t.index("霍夫")
    assert not plausible(t, i, i + 2, 0.95) and not plausible(t, i, i + 3, 0.95)
    t = "辅助检查：简明精神病评定量表（BPRS）58分。"
    i = t.index("简明")
    assert not plausible(t, i, i + 2, 0.95)
    t = "王强征求家属意见后签字。"
    assert plausible(t, 0, 2, 0.95)  # 征求 is what the person does


def test_a_name_right_after_a_department_is_a_name() -> None:
    t = "血糖管理转内分泌科林雨萱，胰岛素改门冬胰岛素30。"
    i = t.index("林雨萱")
    assert plausible(t, i, i + 3, 0.95)


def test_eponyms_places_and_herbs_listed_after_blind26_are_no_names() -> None:
    for t, w in (("左声带任克水肿（轻度）。", "任克"), ("伯明翰血管炎活动评分（BVAS）18分。", "伯明翰"),
                 ("问能不能泡罗汉果、胖大海喝。", "罗汉果")):
        i = t.index(w)
        assert not plausible(t, i, i + 2, 0.95) and not plausible(t, i, i + 3, 0.95)


def test_brands_and_a_patent_medicine_listed_after_blind27_are_no_names() -> None:
    for t, w in (("自述为乔雅登，收费单上写的却是伊婉。", "乔雅登"), ("我买了汤臣倍健的叶黄素。", "汤臣倍健"),
                 ("或阿伐曲泊帕（苏可欣），后者无需空腹。", "苏可欣"), ("能不能同时吃江南卷柏片。", "江南卷柏")):
        i = t.index(w)
        assert not plausible(t, i, i + 2, 0.95) and not plausible(t, i, i + 3, 0.95)


def test_a_patent_medicine_and_a_tool_listed_after_blind28_are_no_names() -> None:
    for t, w in (("想给孩子冲金莲清热泡腾片。", "金莲"), ("麦克阿瑟治疗决定能力评估工具四个维度。", "麦克")):
        i = t.index(w)
        assert not plausible(t, i, i + 2, 0.95) and not plausible(t, i, i + 3, 0.95)


def test_brands_a_sign_and_a_fruit_wine_listed_after_blind29_are_no_names() -> None:
    for t, w in (("恢复进食后常乐康半袋。", "常乐"), ("2 | 霍纳征（眼睑下垂） | 少见", "霍纳"), ("她泡的杨梅酒也要拿走吗？", "杨梅")):
        i = t.index(w)
        assert not plausible(t, i, i + 2, 0.95) and not plausible(t, i, i + 3, 0.95)
