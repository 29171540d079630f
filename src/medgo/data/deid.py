"""De-identification of Chinese clinical text: finds PHI spans with checksum-validated numbers, cue words
and a surname list, and replaces them with typed placeholders ([姓名], [身份证号], ...). Clinical content
(drugs, diseases, doses, lab values) is protected by anchoring every number pattern on digit boundaries and
every name pattern on cues plus a clinical stop-list.

Every name, ID, phone, record number and e-mail found once is replaced at every occurrence of the same
string in the document (and, with a `DeidMemory`, in the rest of a conversation); names can be replaced by
consistent pseudonyms ([患者A], [家属A], [医护B]) instead of [姓名]. Names are found from roles, kin words,
titles, form labels, lists and signatures (`deid_names`) besides the cue patterns here, and, with
`DeidConfig.tagger`, by a learned character-level tagger (`deid_tagger`) trained on the user's own records.

`deidentify(text)` is the entry point other rooms (serving logs) import."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
from dataclasses import dataclass, field

from medgo.config.data_prep import DeidConfig
from medgo.data.deid_cued import PERSON_BEFORE_NAME, cued_names
from medgo.data.deid_lexicon import (
    COMMON_GIVEN,
    KIN_CUES,
    KIN_WORDS,
    NAME_STOP,
    NAME_TITLES,
    NOT_NAMES,
    STRONG_NAME_CUES,
    SURNAMES_1,
    SURNAMES_2,
    WEAK_NAME_CUES,
)
from medgo.data.deid_names import (
    FUNCTION_SURNAMES,
    TRAIL_BAD,
    dictionary_word,
    extend_lists,
    find_role_names,
    plausible_given,
    starts_or_prefixes_common_word,
    table_cells,
    verb_then_surname,
)
from medgo.data.deid_terms import TermIndex, in_drug_name, load_terms, used_as_drug

PLACEHOLDERS = {
    "NAME": "[姓名]",
    "ID": "[身份证号]",
    "PHONE": "[电话]",
    "ADDRESS": "[地址]",
    "RECORD": "[病历号]",
    "EMAIL": "[邮箱]",
    "DATE": "[日期]",
    "HOSPITAL": "[医院]",
}
# Pseudonym stems per role of a name (`DeidConfig(names="pseudonym")`).
PSEUDONYM_STEMS = {"PATIENT": "患者", "RELATIVE": "家属", "CLINICIAN": "医护", "": "人员"}
# Types whose strings are replaced wherever they recur in a document once found anywhere.
CONSISTENT_TYPES = ("NAME", "ID", "PHONE", "RECORD", "EMAIL")
# When two detectors claim overlapping text, the more specific one wins.
_PRIORITY = {"EMAIL": 0, "ID": 1, "PHONE": 2, "RECORD": 3, "DATE": 4, "NAME": 5, "HOSPITAL": 6, "ADDRESS": 7}


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    type: str
    role: str = field(default="", compare=False)

    def text(self, s: str) -> str:
        return s[self.start : self.end]


_H = r"\u4e00-\u9fff"
_ND = r"(?<![0-9A-Za-z])"  # a number must not continue a longer token (lab values, codes)
_NA = r"(?![0-9A-Za-z])"

# ---- numbers ----------------------------------------------------------------------------------------------
_ID18 = re.compile(_ND + r"([1-9]\d{5})((?:19|20)\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{3}[\dXx]" + _NA)
_ID15 = re.compile(_ND + r"[1-9]\d{5}\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{3}" + _NA)
_ID_CUE = re.compile(r"(?:身份证(?:号码|号)?|公民身份号码|证件号(?:码)?)[:：\s为是]*([0-9Xx*]{15,18})")
_ID_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID18_SPACED = re.compile(_ND + r"(\d{6})[ -](\d{8})[ -](\d{3}[\dXx])" + _NA)
# a phone number's separators are spaces or dashes, never a line break ("住院号：00219483\n2021年…")
_MOBILE = re.compile(
    r"(?<![0-9A-Za-z+])(?:\+?86[- \t]?|[(（]\+?86[)）][ \t]?)?1[3-9]\d[- \t]?\d{4}[- \t]?\d{4}" + _NA
)
_LANDLINE = re.compile(
    r"(?<![0-9A-Za-z.])(?:\(0\d{2,3}\)|（0\d{2,3}）|0\d{2,3}(?:-|[ \t])?)[ \t]?(?:[2-9]\d{2,3}[- \t]\d{4}|[2-9]\d{6,7})"
    r"(?:[ \t]?(?:-|转|分机|ext\.?[ \t]?)[ \t]?\d{1,5})?" + _NA
)
_PHONE_CUE = re.compile(r"(?:电话|手机|联系方式|联系电话|手机号(?:码)?|座机|TEL|Tel|tel)[:：\s为是]*(\d[\d \t-]{5,14}\d)" + _NA)
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_RECORD_CUE = re.compile(
    r"(?:住院病历号|病历号|住院号|门诊号|急诊号|病案号|床号|ID号|登记号|就诊号|就诊卡|医保卡|社保卡|诊疗卡|健康卡|卡号|检查号|"
    r"标本号|影像号|病理号|流水号|档案号|体检编号|体检号|条码号|住院ID|患者ID|病人ID|批件|批次|登记|(?<![A-Za-z])ID)(?:号码|码|号)?"
    r"[:：\s为是]*((?:[A-Za-z]{1,4}-?)?\d[0-9A-Za-z-]{0,24})" + _NA
)
# English labels of bilingual notes ("Clinic No.：1120772296", "MRN: H0038812", "Inpatient No. 2019-0031")
_RECORD_EN = re.compile(
    r"(?<![A-Za-z])(?:(?:Clinic|Hospital|Hosp|Record|Case|Patient|Pt|Inpatient|Outpatient|Admission|Adm|Registration"
    r"|Reg|Medical[ \t]+Record|MR|Chart|Visit|Encounter|Accession|Specimen|Sample|Lab|Study|Subject|Member|Policy"
    r"|Insurance|Claim|Card|Donor|File|Ref|Reference|Report|Exam|Order|Request|Referral|Barcode|Ticket|OPD|IPD|ED|ER"
    r"|UDS)[ \t]*(?:No\.?|Number|#|ID)|MRN|UHID|PID)"
    r"[ \t]*(?:[（(][\u4e00-\u9fff]{1,8}[）)])?[ \t]*[:：#]?[ \t\u3000]*"  # "Exam No.(检查号): P356824024"
    r"((?:[A-Za-z]{1,4}-?)?\d[0-9A-Za-z-]{2,24})" + _NA, re.IGNORECASE)
# "透析号：BA2024-4875", "编号 No.：A125594", "就诊卡号 00123456", "献血码：A977991", "编号：A630358": any short label ending in 号/号码/
# 编号/编码/码 (编号 and 编码 also alone) before a code with 4+ digits.
# The code may open with up to three letter groups (MDT-HIS-118733, LPHIS-448767, ADR-A726116) and, after the colon,
# a document-number prefix ending in 第 ("鉴定编号：临鉴字第BA2024-9415号").
_RECORD_GENERIC = re.compile(
    r"(?:[\u4e00-\u9fff]{0,5}(?:编号|编码)|[\u4e00-\u9fff]{1,5}(?:号码|号|码))[ \t]*(?:No\.?|[（(][A-Za-z ]{1,12}No\.?[）)])?"
    r"[:：\s]*"  # "编号（UDS No.）：BA2016-5546"
    r"(?:[\u4e00-\u9fff]{1,4}第)?"
    r"((?:[A-Za-z]{1,6}-?){0,3}\d[0-9A-Za-z-]{3,24})" + _NA
)
# "ART编号：10505552" is a programme's record number; "编号：1" an item; "编号：A630358" or six digits after the colon (or
# in brackets or opening a clause: "死亡医学证明（编号P346020886）", "病毒筛查，编号90654638，") a person's
_LETTER_BEFORE = re.compile(r"[A-Za-z]编号")
_BARE_CODE_COLON = re.compile(r"编号[ \t]*(?:No\.?|[（(][A-Za-z ]{1,12}No\.?[）)])?[ \t]*[:：]")
_CODE_HEAD = re.compile(r"(?:号|号码|编号|编码|码|ID)$")
_NOT_PERSON_CODES = ("批号", "型号", "货号", "序号", "页码", "版号", "规格号")  # a drug lot is nobody's record
_TABLE_CODE = re.compile(r"(?<![0-9A-Za-z-])(?:[A-Za-z]{1,4}-?)?\d[0-9A-Za-z-]{3,24}(?![0-9A-Za-z-])")
_CODE_AFTER_NAME = re.compile(r"[（(]\s*((?:[A-Za-z]{1,4}-?)?\d[0-9A-Za-z-]{5,24})\s*[）)]")
_BED = re.compile(r"(?<![0-9A-Za-z.])(\d{1,3}|[A-Za-z]\d{1,3})(?=床(?![旁边上下头尾位单垫]))")

# ---- dates ------------------------------------------------------------------------------------------------
_Y = r"((?:19|20)\d{2})"
_DATE_PATTERNS = [
    ("ymd", re.compile(_Y + r"\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?")),
    # a time may follow with no space ("2016.07.1710:30", "截至2014/10/1818时")
    ("ymd", re.compile(r"(?<!\d)" + _Y + r"([-/.])(\d{1,2})\2(\d{1,2})"
                       r"(?:(?![\d.])|(?=(?:[01]\d|2[0-3])(?:[:：][0-5]\d|时|点)))")),
    ("ymd8", re.compile(r"(?<!\d)((?:19|20)\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?!\d)")),
    ("ym", re.compile(_Y + r"\s*年\s*(\d{1,2})\s*月(?!\s*\d)")),
    ("md", re.compile(r"(?<![\d.年])(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")),
    ("cn", re.compile(r"[〇零一二三四五六七八九]{4}\s*年\s*[一二三四五六七八九十]{1,2}\s*月(?:\s*[一二三四五六七八九十]{1,3}\s*[日号])?")),
]
_DATE_CUE8 = re.compile(r"(?:日期|时间|出生|生日)[:：\s]*$")

# ---- names ------------------------------------------------------------------------------------------------
_SUR = "(?:" + "|".join(sorted(SURNAMES_2)) + "|[" + "".join(sorted(SURNAMES_1)) + "])"
# Form fields need a separator ("主治医师：李明"), else "主任医师查房" would read 查房 as a name.
_STRONG = re.compile(
    "(?:(?:" + "|".join(sorted(STRONG_NAME_CUES, key=len, reverse=True)) + r")(?:[:：]\s*|\s+)|(?:"
    + "|".join(KIN_CUES) + "))([" + _H + r"]{2,4}|[" + _H + r"]某{1,2})"
)
_WEAK = re.compile("(?:" + "|".join(WEAK_NAME_CUES) + r")[:：\s]?(" + _SUR + "[" + _H + "]{1,2})")
# the last character of a table heading (床号, 眼别, 术式)
_HEAD_END = set("号别式龄期址话科室")
_MOU = re.compile(_SUR + "某{1,2}")
_TITLED = re.compile("(" + _SUR + "[" + _H + "]{0,2}?)(?=" + "|".join(NAME_TITLES) + ")")
# "王建国，男，65岁": the sex/age pattern is strong enough to accept surnames outside the list.
_SEX_AGE = re.compile(r"(?:^|(?<=[\s，,。；;：:、]))([" + _H + r"]{2,4})[，,\s、]+(?:男|女)(?:性)?[，,\s、]+\d{1,3}\s*岁", re.M)
_NOT_PERSON = {"患者", "病人", "患儿", "老人", "小孩", "孩子", "本人", "产妇", "孕妇", "新生儿", "性别", "年龄", "某某"}
_NAME_FOLLOW = set("，,。.；;：:、（(）)【[】] \n\t男女之及和与等为是系经因于在自诉述以入出无有的今昨现曾已来去将对于被向签0123456789")
# Characters that can be surnames but before a title are far more often function words in clinical text:
# "有助于医生判断", "怀疑痛风时医生会安排", "遵医生嘱咐", "应及时告知医生".
_TITLE_GOVERNOR = set("向和与给找请问跟被让由叫时于后前告知诉对把将在从当")
_TITLE_BLOCK = set(
    "向和与给找请问带跟被让由叫是为位名个的各该此某本我你他她请看"
    "于时后前中对经及以并或如将把在从当因常应需可要遵听会才再即则且又也都就还更最很至到按凭据随同替靠知诉查包"
)

# ---- places -----------------------------------------------------------------------------------------------
_ADDR_LABELS = r"家庭住址|现住址|通讯地址|联系地址|户籍地址|住址|地址"
_ADDR_CUE = re.compile(r"(?:" + _ADDR_LABELS + r"|户籍地|居住地|家住|现住|住于|居住于|现居)[:：\s为在]*([^，。；;,\n]{2,40})")
_ADDR_CUE_WORD = re.compile(r"(?:" + _ADDR_LABELS + r")[:：\s为在]*")  # an address label inside an address match
_ADDR_UNIT = (
    r"[" + _H + r"0-9一二三四五六七八九十]{1,8}?(?:省|自治区|特别行政区|市|自治州|州|盟|地区|区|县|旗|镇|乡|街道|村|组|社区|"
    r"小区|花园|公寓|大道|路|街|巷|弄|胡同|号院|号楼|号|栋|幢|单元|楼|室)"
)
_ADDR = re.compile("(?:" + _ADDR_UNIT + "){2,}")
_ADDR_STRONG = re.compile(r"(?:省|市|县|乡|村|路|街|巷|弄|号|小区|栋|幢|单元|室|胡同)")  # not 镇: "口服镇痛镇静"
_ADDR_ROOM = re.compile(r"[0-9]{1,5}(?:室|房|号)?(?![0-9A-Za-z.．%]|\s*(?:mg|ml|kg|cm|mm|次|岁|天|人|例|分|床))")
_ADDR_START_STOP = set("于在至到往来去入及和与、的是为从经由诊住家现居系")
_HOSP = re.compile(r"(?:医院|卫生院|保健院|卫生服务中心|诊所|门诊部|医学中心)")
_HOSP_STOP = set("于在至到往来去入及与、的是为从经由诊行后前曾再就送转回住即并且而且又均已赴")
_HOSP_GENERIC = {
    "当地", "上级", "该", "本", "我", "外", "综合", "专科", "私人", "附近", "其他", "其它", "大", "各级", "基层", "县级",
    "市级", "省级", "三甲", "二甲", "乡镇", "社区", "小", "某", "此", "这家", "那家", "一家", "多家", "各大", "正规",
    "公立", "民营", "上一级", "离开", "患者市", "出", "中医", "西医", "儿童", "妇幼", "肿瘤", "精神病", "传染病", "口腔", "眼科", "牙科", "个体",
}


def id18_valid(s: str) -> bool:
    """GB 11643 check digit."""
    if len(s) != 18 or not s[:17].isdigit():
        return False
    total = sum(int(c) * w for c, w in zip(s[:17], _ID_W, strict=True))
    return "10X98765432"[total % 11] == s[17].upper()


def _valid_md(m: int, d: int) -> bool:
    return 1 <= m <= 12 and 1 <= d <= 31


def _find_numbers(text: str) -> list[Span]:
    out: list[Span] = []
    for m in _ID18.finditer(text):
        if id18_valid(m.group(0)):
            out.append(Span(m.start(), m.end(), "ID"))
    for m in _ID18_SPACED.finditer(text):
        if id18_valid("".join(m.groups())):
            out.append(Span(m.start(), m.end(), "ID"))
    for m in _ID15.finditer(text):
        out.append(Span(m.start(), m.end(), "ID"))
    for m in _ID_CUE.finditer(text):  # after a cue even a mistyped or partly starred number is an ID
        out.append(Span(m.start(1), m.end(1), "ID"))
    for rx in (_MOBILE, _LANDLINE):
        out += [Span(m.start(), m.end(), "PHONE") for m in rx.finditer(text)]
    out += [Span(m.start(1), m.end(1), "PHONE") for m in _PHONE_CUE.finditer(text)]
    out += [Span(m.start(), m.end(), "EMAIL") for m in _EMAIL.finditer(text)]
    out += [Span(m.start(1), m.end(1), "RECORD") for m in _RECORD_CUE.finditer(text)]
    out += [Span(m.start(1), m.end(1), "RECORD") for m in _RECORD_EN.finditer(text)
            if sum(c.isdigit() for c in m.group(1)) >= 4]
    out += [Span(m.start(1), m.end(1), "RECORD") for m in _BED.finditer(text)]
    out += [Span(m.start(1), m.end(1), "RECORD") for m in _RECORD_GENERIC.finditer(text)
            if sum(c.isdigit() for c in m.group(1)) >= 4
            and not (m.group(0).startswith("编号") and not _LETTER_BEFORE.match(text, max(0, m.start() - 1))
                     and not ((_BARE_CODE_COLON.match(m.group(0)) or not m.start() or text[m.start() - 1] in "（(，,；;\n")
                              and (sum(c.isdigit() for c in m.group(1)) >= 6 or m.group(1)[:1].isalpha())))]
    # "| 床号 | 姓名 | 住院号 |" over "| 12床 | 林芷若 | H9732480 |": codes in a column headed by a number label
    for k, c in table_cells(text, lambda h: bool(_CODE_HEAD.search(h)) and not h.endswith(_NOT_PERSON_CODES)):
        for m in _TABLE_CODE.finditer(c):
            if sum(ch.isdigit() for ch in m.group(0)) >= 4:
                out.append(Span(k + m.start(), k + m.end(), "RECORD"))
    return out


def _find_dates(text: str) -> list[tuple[Span, str, tuple[str, ...]]]:
    out = []
    for kind, rx in _DATE_PATTERNS:
        for m in rx.finditer(text):
            g = m.groups()
            if kind == "ymd" and len(g) == 4:
                g = (g[0], g[2], g[3])
            if kind in ("ymd", "ymd8") and not _valid_md(int(g[1]), int(g[2])):
                continue
            if kind == "ymd8" and not _DATE_CUE8.search(text[max(0, m.start() - 8) : m.start()]):
                continue  # a bare 8-digit number is a date only after a cue word
            if kind == "ym" and not 1 <= int(g[1]) <= 12:
                continue
            if kind == "md" and not _valid_md(int(g[0]), int(g[1])):
                continue
            if kind == "cn":
                g = ()
            out.append((Span(m.start(), m.end(), "DATE"), kind, g))
    return out


def _name_ok(cand: str) -> bool:
    return len(cand) >= 2 and not starts_or_prefixes_common_word(cand)


def _trim_name(cand: str, surname_len: int) -> str:
    for i in range(surname_len, len(cand)):
        if cand[i] in NAME_STOP:
            return cand[:i]
    return cand


# a department at the start of a labelled field, a name of two or three characters after it ("联系人：医保办林嘉，")
_DEPT_FIRST = re.compile(r"[\u4e00-\u9fff]{1,4}(?:科|办)([\u4e00-\u9fff]{2,3})(?=[，,。；;：:、\s（(]|$)")


def _find_names(text: str) -> list[Span]:
    out: list[Span] = []
    for m in _STRONG.finditer(text):
        if d := _DEPT_FIRST.match(text, m.start(1)):  # "联系人：医保办林嘉": the department, then the name
            if _name_ok(d.group(1)):
                out.append(Span(d.start(1), d.end(1), "NAME"))
            continue
        if text.startswith(KIN_WORDS + PERSON_BEFORE_NAME, m.start(1)):
            continue  # "联系人：儿子冯淑媛", "签名：孕妇巫马丽": the kin or person word's own finder reads the name
        cand = _trim_name(m.group(1), 1)
        if text[m.start(1) - 1 : m.start(1)] not in ":： \t\u3000":  # a kin word that runs into the text:
            if len(cand) == 4 and cand[:2] not in SURNAMES_2:
                cand = cand[:3]  # "配偶王华强陪同": four characters need a compound surname
            if len(cand) == 3 and cand[:2] not in SURNAMES_2 and cand[2] in TRAIL_BAD:
                cand = cand[:2]  # "配偶王华陪同"
        after = text[m.start(1) + len(cand) : m.start(1) + len(cand) + 1]
        labelled = text[m.start(1) - 1 : m.start(1)] in ":：" and not (after and "\u4e00" <= after <= "\u9fff")
        if text[m.start(1) - 1 : m.start(1)].isspace() and (dictionary_word(cand[:2]) or cand[1:2] in _HEAD_END):
            continue  # a table's header row, "姓名\t年龄\t床号": the next heading, not a name
        if not labelled and cand[0] in FUNCTION_SURNAMES and dictionary_word(cand[:2]):
            continue  # "供者配偶同意": a verb after the cue, not a name
        if len(cand) >= 2 and (cand not in NOT_NAMES or labelled):  # "姓名：甘露　": the field holds a name
            out.append(Span(m.start(1), m.start(1) + len(cand), "NAME"))
    for m in _WEAK.finditer(text):
        s = m.start(1)
        sl = 2 if text[s : s + 2] in SURNAMES_2 else 1
        cand = _trim_name(m.group(1), sl)
        # try the longer reading first; accept only if what follows looks like the end of a name
        if cand.startswith("查") and sl == 1:
            continue  # "患者查离子": the verb 查, not a surname
        if not plausible_given(cand[sl:]) or (
            sl == 1 and cand[0] in FUNCTION_SURNAMES and not all(c in COMMON_GIVEN for c in cand[1:])
        ):
            continue  # "患者于我院", "患者应该": a function word, not a surname
        for k in range(len(cand), sl, -1):
            nxt = text[s + k : s + k + 1]
            if (not nxt or nxt in _NAME_FOLLOW or text.startswith(NAME_TITLES, s + k)) and _name_ok(cand[:k]):
                out.append(Span(s, s + k, "NAME"))
                break
    out += [Span(m.start(), m.end(), "NAME") for m in _MOU.finditer(text)]
    for m in _TITLED.finditer(text):
        cand, start = m.group(1), m.start(1)
        if len(cand) == 3 and verb_then_surname(text, start):
            cand, start = cand[2], start + 2  # "安抚刘阿姨": a verb, then the surname the title goes with
        if text[m.start() - 1 : m.start() + 1] in ("主任", "主治", "副主", "责任", "主管"):
            continue  # the "任" of 主任医师 is not a surname here
        if len(cand) == 1 and cand in _TITLE_BLOCK:
            continue  # "向医生", "和护士": a surname character that is a preposition here
        if len(cand) > 1 and cand[-1] in _TITLE_GOVERNOR:
            continue  # "检查前向医生", "结石时医生": the title belongs to a preposition or clause, not a name
        if len(cand) > 1 and not _name_ok(cand):
            continue
        if len(cand) > 1 and not plausible_given(cand[1:]):
            continue  # "燕两位医师" is not a name
        out.append(Span(start, m.end(1), "NAME"))
    for m in _SEX_AGE.finditer(text):
        if m.group(1) not in _NOT_PERSON and not m.group(1).startswith(("患者", "病人")) and _name_ok(m.group(1)):
            out.append(Span(m.start(1), m.end(1), "NAME"))
    return out


def _date_digits_end(text: str, s: int) -> bool:
    """The digits before `s` end a date or a time (2016-01-13望京…医院), which no hospital's name runs into."""
    r = s
    while r > 0 and text[r - 1].isdigit():
        r -= 1
    return r < s and r > 0 and text[r - 1] in "-/.年月:："


def _find_places(text: str, hospitals: bool) -> list[Span]:
    out = []
    for m in _ADDR_CUE.finditer(text):
        v = re.split(r"\s{2,}|\u3000|&nbsp;", m.group(1))[0].rstrip()  # a column gap ends the address
        if len(v) >= 2:
            out.append(Span(m.start(1), m.start(1) + len(v), "ADDRESS"))
    for m in _ADDR.finditer(text):
        s, e = m.start(), m.end()
        while s < e and s > 0 and text[s - 1].isascii() and text[s - 1].isalnum() and text[s].isascii():
            s += 1  # begun inside a number ("电话13789993872和住址湖北省…"): the number is not the address
        while s < e:
            cue = _ADDR_CUE_WORD.match(text, s, e)
            if cue and cue.end() < e:
                s = cue.end()  # "和住址湖北省…": the address starts after its cue
            elif text[s] in _ADDR_START_STOP:
                s += 1
            else:
                break
        room = _ADDR_ROOM.match(text, e) if text[e - 2 : e] == "单元" or text[e - 1] in "栋幢楼" else None
        if room:
            e = room.end()  # "2栋3单元402": the room number after the last unit
        if len(_ADDR_STRONG.findall(text[s:e])) >= 1 and e - s >= 4:
            out.append(Span(s, e, "ADDRESS"))
    if hospitals:
        for m in _HOSP.finditer(text):
            s = m.start()
            while s > max(0, m.start() - 16) and (
                "\u4e00" <= text[s - 1] <= "\u9fff" or text[s - 1].isdigit()
            ) and text[s - 1] not in _HOSP_STOP and not _date_digits_end(text, s):
                s -= 1
            name = text[s : m.start()]
            if len(name) >= 2 and name not in _HOSP_GENERIC and not name.endswith(("我", "本", "该", "外")):
                out.append(Span(s, m.end(), "HOSPITAL"))
    return out


class _Drugs:
    """Where the name readings of one text end once drug names and listed terms are taken out of them."""

    def __init__(self, text: str, terms: TermIndex | None) -> None:
        self.text, self.terms = text, terms
        self._used: dict[str, bool] = {}  # word -> used as a drug somewhere in the text (one scan per word)

    def end(self, a: int, b: int) -> int:
        """The end of the name in the reading text[a:b] (`a`: no name)."""
        word = self.text[a:b]
        if word not in self._used:
            self._used[word] = used_as_drug(self.text, word)
        if self._used[word] or in_drug_name(self.text, a, b):
            return a
        return self.terms.cut(self.text, a, b) if self.terms is not None else b

    def names(self, spans: list[Span]) -> list[Span]:
        out = []
        for sp in spans:
            if sp.type == "NAME" and (end := self.end(sp.start, sp.end)) != sp.end:
                if end - sp.start < 2:
                    continue  # no name left (a one-character surname alone is a name only as the rules read it)
                sp = Span(sp.start, end, sp.type, sp.role)
            out.append(sp)
        return out


def _addresses_after_names(spans: list[Span]) -> list[Span]:
    """An address reading that starts inside a name starts after it ("称欧阳|兰芳已住进南京鼓楼…室" is a name, then
    the place): the longer address would otherwise win and leave half the name."""
    names = [sp for sp in spans if sp.type == "NAME"]
    out = []
    for sp in spans:
        if sp.type == "ADDRESS":
            inside = [n.end for n in names if n.start < sp.start < n.end]
            if inside:
                sp = Span(max(inside), sp.end, "ADDRESS")
                if sp.end - sp.start < 4:
                    continue
        out.append(sp)
    return out


def _resolve(spans: list[Span]) -> list[Span]:
    """Keep non-overlapping spans: longer first, then by type priority."""
    chosen: list[Span] = []
    taken = bytearray(max((sp.end for sp in spans), default=0))
    for sp in sorted(spans, key=lambda x: (-(x.end - x.start), _PRIORITY[x.type], x.start)):
        if sp.end <= sp.start or any(taken[sp.start : sp.end]):
            continue
        chosen.append(sp)
        taken[sp.start : sp.end] = b"\x01" * (sp.end - sp.start)
    return sorted(chosen, key=lambda x: x.start)


def _role_names(text: str) -> list[Span]:
    found = find_role_names(text) + cued_names(text)
    return [Span(a, b, "NAME", role) for a, b, role in found]


def _same_string(text: str, value: str) -> list[tuple[int, int]]:
    """Every occurrence of `value`; digit and letter strings only where they are not part of a longer one."""
    out = []
    alnum = value[:1].isascii() and value[:1].isalnum()
    i = text.find(value)
    while i >= 0:
        j = i + len(value)
        if not alnum or not (
            (i > 0 and text[i - 1].isascii() and text[i - 1].isalnum())
            or (j < len(text) and text[j].isascii() and text[j].isalnum())
        ):
            out.append((i, j))
        i = text.find(value, i + 1)
    return out


def _consistent_strings(text: str, spans: list[Span]) -> dict[str, tuple[str, str]]:
    """value -> (type, role) for the found strings that are replaced at every occurrence. A name's role is
    its most frequent non-empty role (patient before relative before clinician on ties)."""
    votes: dict[str, dict[str, int]] = {}
    types: dict[str, str] = {}
    for sp in spans:
        if sp.type not in CONSISTENT_TYPES:
            continue
        v = sp.text(text)
        if len(v) < (2 if sp.type == "NAME" else 4):
            continue
        types.setdefault(v, sp.type)
        if sp.role:
            votes.setdefault(v, {})
            votes[v][sp.role] = votes[v].get(sp.role, 0) + 1
    order = {"PATIENT": 0, "RELATIVE": 1, "CLINICIAN": 2}
    out = {}
    for v, t in types.items():
        vs = votes.get(v, {})
        role = min(vs, key=lambda r: (-vs[r], order.get(r, 9))) if vs else ""
        out[v] = (t, role)
    return out


def _with_tagger(text: str, spans: list[Span], cfg: DeidConfig) -> list[Span]:
    """The learned tagger's names where the rules found nothing; where the rules read a name shorter than the
    tagger's ("杨桂" of 杨桂花), the tagger's reading with the rules' role. Other rule spans win."""
    from medgo.data.deid_tagger import load_tagger

    found = load_tagger(cfg.tagger, cfg.tagger_threshold).find(text)  # type: ignore[arg-type]
    if not found:
        return spans
    out = list(spans)
    for a, b, _ in found:
        hit = [sp for sp in out if sp.start < b and a < sp.end]
        if not hit:
            out.append(Span(a, b, "NAME"))
        elif all(sp.type == "NAME" and a <= sp.start and sp.end <= b for sp in hit):
            out = [sp for sp in out if sp not in hit] + [Span(a, b, "NAME", next((s.role for s in hit if s.role), ""))]
    return sorted(out, key=lambda x: x.start)


_KIN_SET = frozenset(KIN_WORDS)


def _kin_word_ends(text: str, spans: list[Span]) -> list[Span]:
    """A name reading that opens on a kin word after a possessive, or on a kin word's last character, when another
    reading opens right after the kin word, is the kin word ("的长孙湛秀英" is 长孙 + 湛秀英, not 长孙湛秀 nor
    孙湛秀; "家长孙丽" keeps 孙丽, nothing opens at 丽; "丈夫长孙宁陪同" keeps 长孙宁)."""
    starts = {sp.start for sp in spans if sp.type == "NAME"}

    def kin_end(sp: Span) -> bool:
        if any(k <= sp.start + 1 and text[sp.start + 1 - k : sp.start + 1] in _KIN_SET for k in (2, 3)):
            return sp.start + 1 in starts
        return text[sp.start - 1 : sp.start] in ("的", "之", "其") and any(  # a possessive makes it kin
            text.startswith(w, sp.start) and sp.start + len(w) in starts for w in KIN_WORDS)

    return [sp for sp in spans if not (sp.type == "NAME" and kin_end(sp))]


# OCR of a scanned form spaces the characters out ("其 女 邬建新 陪 诊", "医 保 卡 号 ： 71602016"): a single space
# between two Han characters or marks, on a line where most characters are spaced so
_SPACED_GAP = re.compile(r"(?<=[\u4e00-\u9fff：，。；、（）])[ \u3000](?=[\u4e00-\u9fff：，。；、（）])")
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")


def _unspaced(text: str) -> tuple[str, list[int]] | None:
    """`text` with the spaces of its spaced-out lines taken out, and for each character kept its index in `text`;
    None when no line is spaced out."""
    drop: list[int] = []
    pos = 0
    for line in text.split("\n"):
        gaps = [m.start() for m in _SPACED_GAP.finditer(line)]
        runs = _HAN_RUN.findall(line)
        if len(gaps) >= 4 and len(gaps) >= sum(len(r) for r in runs) - len(runs):  # more gaps than joins
            drop += [pos + g for g in gaps]
        pos += len(line) + 1
    if not drop:
        return None
    gone = set(drop)
    keep = [i for i in range(len(text)) if i not in gone]
    return "".join(text[i] for i in keep), keep


def find_phi(text: str, cfg: DeidConfig | None = None, known: dict[str, tuple[str, str]] | None = None) -> list[Span]:
    """PHI spans of `text`, non-overlapping, in order. `known` (value -> (type, role)) adds strings found
    earlier in the same conversation (see `DeidMemory`). Spaced-out lines (OCR) are read without their spaces."""
    un = _unspaced(text)
    if un is None:
        return _with_erhua(text, _find_phi(text, cfg, known))
    flat, at = un
    return [Span(at[sp.start], at[sp.end - 1] + 1, sp.type, sp.role) for sp in _with_erhua(flat, _find_phi(flat, cfg, known))]


# what 儿 opens after a name when it is a word of its own: 王芳儿子, 儿女, 儿媳, 儿科, 儿童 ...
_ER_WORDS = frozenset("子女媳孙科童歌时化茶")
# what ends a word with 儿 right after a name (王芳女儿, 张伟那儿, 一会儿, 患儿): no nickname
_ER_BEFORE = frozenset("女婴患孤胎侄孙健宠那这哪会点块幼小男玩事活味样劲头边个对法准伴空门片圈")


def _with_erhua(text: str, spans: list[Span]) -> list[Span]:
    """A name said with the diminutive 儿 (马春妮儿, 杜榆钱儿) is replaced with it: a lone 儿 left after the
    placeholder marks the nickname."""
    starts = {sp.start for sp in spans}
    out = []
    for sp in spans:
        a, e = sp.start, sp.end
        if sp.type == "NAME" and e not in starts:
            if e - a >= 2 and text[e : e + 1] == "儿" and text[e + 1 : e + 2] not in _ER_WORDS:
                sp = Span(a, e + 1, sp.type, sp.role)
            elif (e - a == 2 and text[e + 1 : e + 2] == "儿" and "\u4e00" <= text[e : e + 1] <= "\u9fff"
                  and text[e] not in _ER_BEFORE and text[e + 2 : e + 3] not in _ER_WORDS and e + 1 not in starts):
                sp = Span(a, e + 2, sp.type, sp.role)  # 马春|妮儿: the given name's last character and 儿
        out.append(sp)
    return out


def _find_phi(text: str, cfg: DeidConfig | None, known: dict[str, tuple[str, str]] | None) -> list[Span]:
    cfg = cfg or DeidConfig()
    role_names = _role_names(text)
    spans = _find_numbers(text) + _find_names(text) + role_names + _find_places(text, cfg.hospitals)
    if cfg.dates != "keep":
        spans += [d[0] for d in _find_dates(text)]
    spans = _resolve(_addresses_after_names(_kin_word_ends(text, spans)))
    if cfg.tagger:
        spans = _with_tagger(text, spans, cfg)
    drugs = _Drugs(text, load_terms(tuple(cfg.clinical_terms)) if cfg.clinical_terms else None)
    spans = drugs.names(spans)
    names = [(sp.start, sp.end, sp.role) for sp in spans if sp.type == "NAME"]
    more = drugs.names([Span(a, b, "NAME", r) for a, b, r in extend_lists(text, names)[len(names):]])
    if more:
        spans = _resolve(spans + more)
    # "覃丽娟（00646668）": a code in parentheses right after a name is that person's record number
    codes = [Span(m.start(1), m.end(1), "RECORD") for sp in spans if sp.type == "NAME"
             for m in [_CODE_AFTER_NAME.match(text, sp.end)] if m]
    if codes:
        spans = _resolve(spans + codes)
    # roles for names found by the cue patterns without one
    roles = {(sp.start, sp.end): sp.role for sp in role_names + more if sp.role}
    spans = [Span(sp.start, sp.end, sp.type, roles.get((sp.start, sp.end), sp.role)) if sp.type == "NAME" else sp
             for sp in spans]
    if not cfg.consistent and not known:
        return spans
    values = _consistent_strings(text, spans) if cfg.consistent else {}
    for v, tr in (known or {}).items():
        values.setdefault(v, tr)
    for _ in range(3):  # names listed beside a repeated name are found once the repeat is
        extra = [Span(a, b, t, role) for v, (t, role) in values.items() for a, b in _same_string(text, v)
                 if not (t == "NAME" and drugs.end(a, b) != b)]
        if not extra:
            return spans
        spans = _resolve(spans + extra)
        names = [(sp.start, sp.end, sp.role) for sp in spans if sp.type == "NAME"]
        more = drugs.names([Span(a, b, "NAME", r) for a, b, r in extend_lists(text, names)[len(names):]])
        if not more:
            return spans
        spans = _resolve(spans + more)
        values = {**_consistent_strings(text, more), **values}
    return spans


class DeidMemory:
    """What a conversation (or any group of texts) has revealed so far: strings already found as PHI are
    replaced in later texts too, and pseudonyms stay the same person throughout."""

    def __init__(self, max_values: int = 512) -> None:
        self.values: dict[str, tuple[str, str]] = {}
        self.pseudonyms: dict[str, str] = {}
        self.max_values = max_values

    def learn(self, text: str, spans: list[Span]) -> None:
        for v, tr in _consistent_strings(text, spans).items():
            self.values.pop(v, None)
            self.values[v] = tr
        while len(self.values) > self.max_values:
            self.values.pop(next(iter(self.values)))

    def pseudonym(self, value: str, role: str) -> str:
        if value not in self.pseudonyms:
            stem = PSEUDONYM_STEMS.get(role, PSEUDONYM_STEMS[""])
            n = sum(1 for p in self.pseudonyms.values() if p.startswith(f"[{stem}"))
            letters = ""
            while True:
                letters = chr(ord("A") + n % 26) + letters
                n = n // 26 - 1
                if n < 0:
                    break
            self.pseudonyms[value] = f"[{stem}{letters}]"
        return self.pseudonyms[value]


def _shift_days(cfg: DeidConfig, doc_key: str) -> int:
    h = int.from_bytes(hashlib.blake2b(f"{cfg.secret}:{doc_key}".encode(), digest_size=8).digest(), "big")
    return h % (2 * cfg.max_shift_days) - cfg.max_shift_days or 1


def _shift_date(s: str, days: int) -> str | None:
    for kind, rx in _DATE_PATTERNS:
        m = rx.fullmatch(s)
        if not m:
            continue
        g = m.groups()
        try:
            if kind == "ymd" and len(g) == 4:
                d = dt.date(int(g[0]), int(g[2]), int(g[3])) + dt.timedelta(days=days)
                return f"{d.year}{g[1]}{d.month:02d}{g[1]}{d.day:02d}"
            if kind == "ymd":
                d = dt.date(int(g[0]), int(g[1]), int(g[2])) + dt.timedelta(days=days)
                return f"{d.year}年{d.month}月{d.day}日"
            if kind == "ymd8":
                d = dt.date(int(g[0]), int(g[1]), int(g[2])) + dt.timedelta(days=days)
                return d.strftime("%Y%m%d")
            if kind == "ym":
                d = dt.date(int(g[0]), int(g[1]), 15) + dt.timedelta(days=days)
                return f"{d.year}年{d.month}月"
            if kind == "md":  # no year: a leap year keeps 2月29日 valid
                d = dt.date(2000, int(g[0]), int(g[1])) + dt.timedelta(days=days)
                return f"{d.month}月{d.day}日"
        except ValueError:
            return None
    return None


_LAST_DOC = threading.local()  # (doc_key, DeidMemory) of this thread's latest call


def _doc_memory(cfg: DeidConfig, doc_key: str | None) -> DeidMemory | None:
    """Consecutive calls with the same `doc_key` are parts of one document (a row's fields and messages):
    they share one memory, so a name found in one part is replaced in the others too."""
    if doc_key is None or not (cfg.consistent or cfg.names == "pseudonym"):
        return None
    last = getattr(_LAST_DOC, "value", None)
    if last is not None and last[0] == doc_key:
        return last[1]
    mem = DeidMemory()
    _LAST_DOC.value = (doc_key, mem)
    return mem


def deidentify_spans(
    text: str, cfg: DeidConfig | None = None, *, doc_key: str | None = None, memory: DeidMemory | None = None
) -> tuple[str, list[tuple[Span, int, int]]]:
    """`deidentify` plus, for each replaced span, where its replacement sits in the output text."""
    cfg = cfg or DeidConfig()
    if memory is None:
        memory = _doc_memory(cfg, doc_key)
    spans = find_phi(text, cfg, known=memory.values if memory is not None else None)
    days = _shift_days(cfg, doc_key if doc_key is not None else text) if cfg.dates == "shift" else 0
    mem = memory if memory is not None else (DeidMemory() if cfg.names == "pseudonym" else None)
    parts: list[str] = []
    placed: list[tuple[Span, int, int]] = []
    pos = out_len = 0
    for sp in spans:
        parts.append(text[pos : sp.start])
        out_len += sp.start - pos
        rep = None
        if sp.type == "DATE" and cfg.dates == "shift":
            rep = _shift_date(sp.text(text), days)
        elif sp.type == "NAME" and cfg.names == "pseudonym" and mem is not None:
            rep = mem.pseudonym(sp.text(text), sp.role)
        rep = rep or PLACEHOLDERS[sp.type]
        parts.append(rep)
        placed.append((sp, out_len, out_len + len(rep)))
        out_len += len(rep)
        pos = sp.end
    parts.append(text[pos:])
    if memory is not None:
        memory.learn(text, spans)
    return "".join(parts), placed


def deidentify(
    text: str, cfg: DeidConfig | None = None, *, doc_key: str | None = None, memory: DeidMemory | None = None
) -> str:
    """Replace PHI in `text` with typed placeholders (or, with `names="pseudonym"`, names with consistent
    pseudonyms). With `dates="shift"` dates move by one offset per document (`doc_key`, default the text
    itself) so intervals between them stay true. `memory` carries found strings and pseudonyms from earlier
    texts of the same conversation into this one; consecutive calls with the same `doc_key` share one."""
    return deidentify_spans(text, cfg, doc_key=doc_key, memory=memory)[0]
