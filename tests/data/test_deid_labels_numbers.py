"""Person fields whose value is an ordinary word, codes under any "…码" label, an address that follows a phone
number without a gap, and surnames the lists once lacked (from blind8's first measurement)."""

from __future__ import annotations

import pytest

from medgo.data.deid import deidentify, find_phi


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("姓名：甘霖　病案号：7256031", "甘霖"),
        ("姓名：甘露　门诊号：M0012", "甘露"),
        ("服药人员：成功　档案号：HIS-694", "成功"),
        ("经办人：刘冬梅　复核：查俊", "查俊"),
        ("受检者：冼志豪　性别：男", "冼志豪"),
    ],
)
def test_a_person_field_holds_a_name_even_when_it_is_a_word(text: str, name: str) -> None:
    out = deidentify(text)
    assert name not in out, out


@pytest.mark.parametrize("text", ["用药：甘露醇250ml静滴", "诊断：高血压", "处理：常规护理", "项目：成功率评估"])
def test_other_fields_keep_their_words(text: str) -> None:
    assert deidentify(text) == text


def test_a_code_under_any_code_label_is_a_record_number() -> None:
    out = deidentify("献血者：何雨露　献血码：A977991　手机：15467587000")
    assert "A977991" not in out and "[病历号]" in out, out


def test_an_address_right_after_a_phone_number_leaves_the_number_whole() -> None:
    text = "家属留下电话13789993872和住址湖北省宜昌市夷陵区平湖大道45号，方便随访。"
    spans = {(text[s.start : s.end], s.type) for s in find_phi(text)}
    assert ("13789993872", "PHONE") in spans, spans
    assert ("湖北省宜昌市夷陵区平湖大道45号", "ADDRESS") in spans, spans
    out = deidentify("爱人留下电话+86 13185289433和住址辽宁省大连市中山区人民路8号。")
    assert "13185289433" not in out and "人民路" not in out and "住址" in out, out


def test_surnames_the_lists_once_lacked() -> None:
    for name in ("傅建国", "洪秀英", "赖志强"):
        assert name not in deidentify(f"家属{name}签字。"), name


def test_codes_in_a_table_column_headed_by_a_number_label() -> None:
    text = ("不合格标本登记\n| 床号 | 姓名 | 住院号 | 原因 |\n| 12床 | 林芷若 | H9732480 | 用了EDTA管 |\n"
            "| 5床 | 冯东风 | HIS-262199 | 溶血，血钾6.2 |\n记录完毕。")
    out = deidentify(text)
    for code in ("H9732480", "HIS-262199"):
        assert code not in out, out
    assert "血钾6.2" in out and "EDTA" in out
    lab = "| 项目 | 结果 | 参考值 |\n| 血钾 | 6.2 | 3.5-5.5 |\n| 血糖 | 12.30 | 3.9-6.1 |"
    assert deidentify(lab) == lab
    lot = "| 批号 | 药名 | 剂量 |\n| 20230815 | 阿莫西林 | 0.5g |"
    assert deidentify(lot) == lot  # a drug's lot number is nobody's record


@pytest.mark.parametrize(
    ("text", "name"),
    [("断脐后由助产士谢蓓采集脐血", "谢蓓"), ("营养师叶青建议低盐饮食", "叶青"), ("咨询师：方圆　面诊医师：梁爽", "方圆"),
     ("规培医生冉冬测血压", "冉冬")],
)
def test_the_other_professions_of_a_hospital_name_people(text: str, name: str) -> None:
    out = deidentify(text)
    assert name not in out, out
    assert "建议" in out or "建议" not in text  # 叶青|建议: the name ends before a word that starts there


def test_an_address_keeps_the_room_number_after_its_last_unit() -> None:
    out = deidentify("药盒寄四川省成都市武侯区人民南路四段17号2栋3单元402。")
    assert "402" not in out and "人民南路" not in out, out
    assert deidentify("住院部3楼15床，5单元2次").endswith("5单元2次")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("出示了患者的就诊卡M-8646440，核对后交付。", "8646440"),  # a card named without 号
        ("ART编号：10505552　随访日期：见下", "10505552"),  # a programme's number: letters before 编号
        ("姓名：黄德水　编号：A630358　身份证：见下", "A630358"),  # 编号 alone before a letter-led code
        ("慢性呼吸衰竭\n2016.07.1710:30在床旁更换套管", "2016.07.17"),  # a time right after the date
    ],
)
def test_cards_programme_numbers_and_dates_run_into_a_time(text: str, value: str) -> None:
    assert value not in deidentify(text)


def test_a_bare_item_number_stays() -> None:
    assert deidentify("编号：1234 项目：血常规") == "编号：1234 项目：血常规"


def test_a_department_before_a_labelled_name_stays_and_the_name_goes() -> None:
    out = deidentify("请予复核。联系人：医保办林嘉，电话（021）70021234")
    assert "林嘉" not in out and "医保办" in out, out


def test_a_header_row_keeps_its_headings_and_a_surgeon_column_is_a_person_column() -> None:
    text = "序号\t姓名\t年龄\t床号\t术式\t主刀\t经办人\n1\t王建国\t67\t12\t超声乳化\t鲍勇\t刘冬梅\n2\t李秀英\t81\t14\t同上\t鲍勇\t刘冬梅"
    out = deidentify(text)
    assert out.splitlines()[0] == text.splitlines()[0], out  # 年龄 and 床号 are headings, not names after 姓名
    assert not {"王建国", "李秀英", "鲍勇", "刘冬梅"} & set(out.replace("\t", "\n").split()), out
    assert "超声乳化" in out and "67" in out


@pytest.mark.parametrize(
    ("text", "name"),
    [("采样人张敏当面拍照留存。", "张敏"), ("送检人：李强　时间：09:00", "李强"), ("宝宝周远航，足月顺产。", "周远航")],
)
def test_a_form_signer_and_a_baby_are_named_people(text: str, name: str) -> None:
    assert name not in deidentify(text)


def test_a_baby_word_alone_opens_no_name() -> None:
    text = "宝宝发烧三天了，宝宝精神好，宝宝吃奶可以。"
    assert deidentify(text) == text


@pytest.mark.parametrize(
    "text",
    ["术中予罗哌卡因0.1%＋舒芬太尼镇痛。", "将格列齐德缓释片发给患者。", "原发病：马兜铃酸肾病可能。", "停用雷公藤多苷片，予甘草酸二铵保肝。",
     "饭后的多奈哌齐由护士发放。"],
)
def test_drug_names_that_open_with_a_surname_stay(text: str) -> None:
    assert deidentify(text) == text


def test_a_name_before_a_verb_and_a_tablet_is_still_a_name() -> None:
    out = deidentify("家属孙建国发现药片颜色不对，孙建国表示理解。")
    assert "孙建国" not in out and "药片颜色" in out


def test_a_phone_number_never_runs_across_a_line_break() -> None:
    out = deidentify("住院号：00219483\n2021年7月14日 14:26 顺娩一活男婴")
    assert out == "住院号：[病历号]\n[日期] 14:26 顺娩一活男婴"
    assert deidentify("电话 0571 8888 1234") == "电话 [电话]"  # spaces inside a number still join it


@pytest.mark.parametrize("text", ["需风湿科林雅评估", "并请精神科林雅在病情稳定后会诊"])
def test_a_name_after_a_department_before_what_clinicians_do(text: str) -> None:
    assert "林雅" not in deidentify(text)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("会议编号：MDT-HIS-118733\n参会：", "118733"),  # letter groups before the digits
        ("理赔案号：LPHIS-448767　报案日期：", "448767"),
        ("报告编号：ADR-A726116　上报日期：", "726116"),
        ("鉴定编号：临鉴字第BA2024-9415号\n委托人：", "9415"),  # a document-number prefix ending in 第
    ],
)
def test_record_codes_with_letter_groups_and_document_prefixes(text: str, code: str) -> None:
    assert code not in deidentify(text)


def test_a_hospital_name_does_not_run_back_into_a_date() -> None:
    out = deidentify("调查情况：诸葛昀于2016-01-13赴望京社区卫生服务中心调查")
    assert "2016" not in out and "13" not in out and "[日期]赴[医院]" in out


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Athlete：冉宇宙　Clinic No.：1120772296　Date：2019年4月22日", "1120772296"),  # English labels of bilingual notes
        ("Clinic No.：M-3855135", "3855135"),
        ("MRN: H0038812; Inpatient No. 2019-00317", "0038812"),
        ("Inpatient No. 2019-00317", "00317"),
        ("凭死亡医学证明（编号P346020886）及本人身份证领取", "346020886"),  # 编号 in brackets, no colon
        ("经医院伦理委员会批准（批件BA2022-2210）", "2210"),
        ("经医院伦理委员会批准（批件2296097）", "2296097"),
        ("insurer: PICC, claim no. P567866486", "567866486"),
    ],
)
def test_record_numbers_under_english_labels_brackets_and_approvals(text: str, code: str) -> None:
    assert code not in deidentify(text)


@pytest.mark.parametrize("text", ["Case No. 3 of the series", "Stage 2 light aerobic (HR<70%)", "（编号3）"])
def test_short_numbers_stay(text: str) -> None:
    assert deidentify(text) == text


def test_a_date_runs_into_an_hour_with_no_space() -> None:
    out = deidentify("截至2014/10/1818时累计病例23例")
    assert "2014" not in out and "18时" in out


@pytest.mark.parametrize(("text", "code"), [("切片借出登记：HIS-583857，经办人", "583857"), ("调配记录　批次：A580623　调配日期", "580623"),
                                            ("Certificate　编号 No.：A125594　签发日期", "125594")])
def test_record_numbers_under_registry_batch_and_bilingual_labels(text: str, code: str) -> None:
    assert code not in deidentify(text)


def test_a_spaced_out_ocr_page_is_read_without_its_spaces() -> None:
    from medgo.data.deid import deidentify

    text = ("姓  名 ： 邬振华         性 别 ： 男      年 龄 ：75 岁\n"
            "门诊号 ：M2231475        医 保 卡 号 ： 71602016\n"
            "    其 女 邬 建 新 陪 诊 ， 代 诉 夜 间 偶 有 气 促 。\n"
            "    继 续 原 方 案 ， 加 氨溴索 30mg tid 。\n")
    out = deidentify(text)
    for s in ("71602016", "M2231475", "邬", "建 新"):
        assert s not in out
    assert "其 女" in out and "氨溴索 30mg tid" in out and out.count("\n") == text.count("\n")


@pytest.mark.parametrize("code", ["HIS-513666", "90654638"])
def test_a_bare_number_label_opening_a_clause_masks_its_code(code: str) -> None:
    from medgo.data.deid import deidentify

    out = deidentify(f"供体角膜已做过病毒筛查，编号{code}，内皮细胞密度2600。")
    assert code not in out and "内皮细胞密度2600" in out
