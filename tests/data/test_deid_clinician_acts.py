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
        ("不适请联系病房魏琛（021 5555 0123）。", ["魏琛"]),  # a department, a name, then the person's phone
        ("审核：预防保健科叶祎　报告日期：2024年5月1日", ["叶祎"]),
        ("县疾控卢珣已登记家中犬只。", ["卢珣"]),
        ("多导睡眠监测：耳鼻喉科汤怡然；复查在3个月后。", ["汤怡然"]),  # the whole name, not 汤怡 and 然
        ("伦理委员会审查通过（主任委员钟希，2019.05.04）。", ["钟希"]),
        ("序号\t姓名\t药物\n1\t白芷\t头孢曲松2g\n2\t冯桂珠\t阿奇霉素\n10:20 白芷诉皮疹瘙痒。", ["白芷", "冯桂珠"]),
        ("局部噻吗洛尔滴眼液湿敷（费鲁指导）。\n医师：费鲁", ["费鲁"]),  # brackets after a drug, then an act
        ("交接：欧阳晗交吴卓，次日复查。", ["欧阳晗"]),  # A交B: 交 ends no given name
        ("尿检阴性（聂赟监督留样）。", ["聂赟"]),  # in brackets, a rare given character, then an act
        ("口腔检查无待拔牙（口腔科马玹意见）。", ["马玹"]),
        ("操作医师聂赟，麻醉医师唐霈（丙泊酚静脉麻醉）。", ["聂赟", "唐霈"]),  # a post, not a drug, before the brackets
        ("Stage 2 — completed, supervised by physiotherapist 严格\nStage 3", ["严格"]),  # an English title
        ("To: 业余足球联赛队医 Dr. 高朗\nDear Dr. 高朗,", ["高朗"]),
        ("转出科室：神经外科（蓟然）\n诊断：高血压脑出血", ["蓟然"]),  # a department, its clinician in brackets
        ("二尖瓣球囊扩张术，转心外科高湉。\n术后第1天", ["高湉"]),  # a department, a name, the line's end
        ("需从人民医院调配，联系药剂科孙珝，0891-5531412", ["孙珝"]),  # then the person's phone
        ("营养咨询可联系营养科唐淳（vzf.tli@sina.com）", ["唐淳"]),  # or e-mail
        ("急诊由郑旸行冠状动脉造影示前降支近段闭塞", ["郑旸"]),  # 由 + name + 行 + a procedure
        ("180天评估由康复科杨泓完成。", ["杨泓"]),
    ],
)
def test_names_from_clinical_acts(text: str, gone: list[str]) -> None:
    out = deidentify(text)
    assert all(g not in out for g in gone), out


def test_kin_word_running_into_the_text_takes_only_the_name() -> None:
    assert deidentify("配偶王华强陪同就诊。") == "配偶[姓名]陪同就诊。"


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
        "供者配偶同意捐献。",  # a verb after a kin word
        "腹部平软；病房温度适宜；心内科会诊；",
        "肝包虫病术后随访：泡型包虫病，包虫囊液未外溢。",
        "序号\t药物\t剂量\n1\t白芷\t10g\n2\t甘草\t6g",  # herbs in a table without a 姓名 column
    ],
)
def test_clinical_acts_without_a_name_are_kept(text: str) -> None:
    assert deidentify(text) == text


@pytest.mark.parametrize(
    ("text", "name", "verb"),
    [
        ("患者配偶王华陪同入院。", "王华", "陪同"),  # 陪 is no given-name character: 陪同 stays a word
        ("由妻子李梅陪同就诊", "李梅", "陪同"),
        ("女儿张丽陪同复诊", "张丽", "陪同"),
        ("配偶王华强陪同", "王华强", "陪同"),
    ],
)
def test_a_companion_verb_after_a_kin_name_is_kept(text: str, name: str, verb: str) -> None:
    out = deidentify(text)
    assert name not in out and verb in out


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("（2025-12-13，罗晓执行，徐暄采血）：", "徐暄"),  # a procedure's staff by their acts
        ("地塞米松5mg静推；赵桉到场", "赵桉"),
        ("经钭昀评估可复学", "钭昀"),  # 经 + name + act
        ("由林桉接诊，痰检待回报。", "林桉"),
        ("抄送：区教育局、校医张昀", "张昀"),  # 校医, 协调员, 社区医生 are roles
        ("移植协调员梁屿、记录黄屿", "梁屿"),
        ("社区医生钭昀每周电话核实", "钭昀"),  # a clause verb after a role's name
        ("推拿处方（赵清越）：清肺经300次", "赵清越"),  # a heading's author in brackets
        ("协作：林屹（烧伤科）、杨知微（眼科）", "杨知微"),  # a name with its department in brackets
    ],
)
def test_clinicians_named_by_procedure_acts_posts_and_brackets(text: str, name: str) -> None:
    assert name not in deidentify(text)


@pytest.mark.parametrize("text", ["备注（王氏）：见上", "左侧（高血压）：", "用药（黄芪）：", "方法（石膏固定）：", "甘草（中药房）"])
def test_bracketed_words_are_no_authors(text: str) -> None:
    assert deidentify(text) == text


def test_a_list_of_posts_names_each_clinician() -> None:
    out = deidentify("参会：临床药师石蕴、微生物室黄珺、医务处朱予\n")
    assert "黄珺" not in out and "石蕴" not in out


def test_a_list_of_departments_is_kept() -> None:
    assert deidentify("请检验科、放射科、病理科会诊") == "请检验科、放射科、病理科会诊"


@pytest.mark.parametrize("text", ["局部予莫匹罗星软膏（百多邦）外用。", "（高血压处理见上）", "（遵医嘱复核）", "服药期间（每日监督服药）",
                                  "心内科常规行冠脉造影，外科会诊。", "由外科完成。", "转入神经外科（二病区）"])
def test_brackets_without_a_name_stay(text: str) -> None:
    assert deidentify(text) == text
