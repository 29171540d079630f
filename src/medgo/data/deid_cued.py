"""Names that a strong cue introduces, whatever their first character (issue #16).

The finders of `deid_names` start from a surname list; names with a surname outside it (门学文, 那英, 可心) or a
surname that is an ordinary word (冬宝来, 都长林) are missed there even right after "患者：" or "儿子". Here the
cue carries the weight instead: a form label of a person field, a kin or role word, a title after the name, a
sex/age header or a speaker's turn. The reading must still look like a name: two or three characters, not a
word of the dictionary or the clinical lists, no character of places, units or clinical words in its given
part, and, unless a separator closes it, a clean end (a verb or particle that follows names)."""

from __future__ import annotations

import re

from medgo.data.deid_lexicon import (
    CLAUSE_VERBS,
    CLINICIAN_ROLES,
    COMMON_GIVEN,
    KIN_WORDS,
    NAME_STOP,
    NOT_NAMES,
    NOT_NAMES_CLINICAL,
    NOT_NAMES_ROLE,
    PATIENT_CUES,
    SURNAMES_TOP,
    TITLES_AFTER,
)
from medgo.data.deid_names import (
    _AFTER_NAME,
    _BEFORE_NAME,
    _FUNCTION_SURNAMES,
    _GIVEN_BAD,
    _H,
    _NAME_END,
    _NOT_PERSON_LABELS,
    _PERSON_LABELS,
    _ROLE_OF,
    _SPEAKER,
    _VERB_NEXT,
    CLINICIAN,
    PATIENT,
    RELATIVE,
    _alt,
    _dictionary_tags,
    _is_han,
    crosses_words,
    dictionary_word,
    label_role,
    note_cuts,
    person_cells,
    plausible_given,
    read_name,
    surname_len,
)

# generic person words and field values that stand where a name would (患者：本人, 受检者：男性, 审核：通过)
_GENERIC = {"本人", "男性", "女性", "男孩", "女孩", "老人", "小孩", "孩子", "产妇", "孕妇", "婴儿", "新生儿", "患儿",
            "通过", "同意", "拒绝", "不详", "未知", "盖章", "签章", "公章", "印章", "已签", "未签", "代签", "无", "暂无", "空缺", "待定", "双方", "全体"}
# the generic words among them that stand right before a name ("孕妇巫马丽", "患儿何妞妞")
PERSON_BEFORE_NAME = ("产妇", "孕妇", "患儿", "婴儿", "新生儿", "患者", "病人", "病员")
_PERSON_WORDS = set(KIN_WORDS) | set(CLINICIAN_ROLES) | set(PATIENT_CUES) | set(_ROLE_OF) | set(TITLES_AFTER)
# a first character that is a particle, a pronoun or a clinical character is no surname here
_FIRST_BAD = NAME_STOP | _GIVEN_BAD | set("我你他她它这此该其每各某本想会遂不没很太刚又仍使令升降吃喝用做看听代数几多半近约全整")
# particles that are surnames too (都蕾, 可心, 能文): a reading that starts with one needs given-name stock
_FUNCTION_FIRST = _FUNCTION_SURNAMES | set("能那会")
# particles that end no name after a cue (家属龙腾|在, 张三|因, 需|在); 来 and 去 do (冬宝来)
_PARTICLE_END = _AFTER_NAME | set("了着过") | (NAME_STOP - set("来去"))
# the last character of a department or a post (管床, 值班, 责任组), not of a name before a title
_POST_END = set("床班级组队室科")
# what follows a name that a cue opened without a separator: a verb or particle ("儿子冬宝来说", "可小梅在")
_NEXT_CHARS = _AFTER_NAME | _VERB_NEXT | set("问签取留陪拍提带送称表讲答叫喊哭笑点递扶推抱交去来把")
_CLINICIAN_TITLES = ("副主任医师", "主任医师", "主治医师", "住院医师", "副主任", "护士长", "主任", "医生", "医师", "护士",
                     "药师", "技师", "教授", "大夫", "老师")
_TITLE_AFTER = re.compile(_alt(_CLINICIAN_TITLES))
_LABEL = re.compile(r"([" + _H + r"]{1,8})[ \t\u3000]*[:：|｜][ \t\u3000]*")
_CUE = re.compile("(?=(" + _alt(tuple(_PERSON_WORDS)) + r")([ \t\u3000]*))")
_HEADER = re.compile(r"(?:^|(?<=[\n：:|｜]))[ \t\u3000]*([" + _H + r"]{2,3})[，,　 ]*(?:(?:男|女)(?:性)?[，,　 ]|\d{1,3}\s*岁)",
                     re.M)
# characters that end a form label or a heading rather than a name (技师：, 住院号：, 记录：, 检查所见：)
_LABEL_END = set("师员者人生士号名期间别龄址话科室录核意见断史诉果查目称型式况签字位务单表栏项注") - COMMON_GIVEN


_CLINICAL_IN = re.compile(_alt(NOT_NAMES_CLINICAL))
_PERSON_START = re.compile(_alt(tuple(_PERSON_WORDS)))


def name_like(cand: str, closed: bool = False) -> bool:
    """`cand` (two or three Han characters) could be a name with any surname: no common or clinical word, no
    generic person word, no place/unit/clinical character after the first. `closed` (a label or a role word
    before it, a separator after it): a noun, adjective or time word of the dictionary that opens with a
    surname stays a possible name (风帆, 温柔, 冷月, 车辙), not a verb or a particle (通过, 值班)."""
    if not 2 <= len(cand) <= 3 or not all(_is_han(c) for c in cand) or cand[0] in _FIRST_BAD:
        return False
    if cand in _GENERIC or cand in _PERSON_WORDS or cand in NOT_NAMES or cand in NOT_NAMES_ROLE:
        return False
    if _CLINICAL_IN.search(cand) or _PERSON_START.match(cand):
        return False
    if dictionary_word(cand) and not (closed and surname_len(cand, 0) and _dictionary_tags()[cand][:1] in "nat"):
        return False  # 病情, 安排
    if len(cand) == 3 and dictionary_word(cand[:2]) and not (closed and all(c in COMMON_GIVEN for c in cand[1:])):
        return False  # 精神差 starts with 精神; closed, 风雪梅 stays a name
    return plausible_given(cand[1:])


# body and posture characters of words the dictionary mistags as names (子宫 nr, 平卧 nr)
_BODY = set("宫卧缩颅膜腺管")


def _given_stock(cand: str, name_word: bool = False) -> bool:
    """The given part is made of frequent given-name characters, or a frequent surname opens it (吴桐, 刘桂枝), or
    (`name_word`) it opens with a surname and the whole is a name word of the dictionary (宁远 nrfg; the
    dictionary tags 买些 and 平躺 nr too)."""
    return all(c in COMMON_GIVEN for c in cand[1:]) or cand[0] in SURNAMES_TOP or (
        name_word and surname_len(cand, 0) and _dictionary_tags().get(cand, "").startswith(("nr", "ns"))
        and not set(cand) & _BODY)


def _bounded(text: str, i: int) -> int:
    """Length of the Han run at `i` when a separator (or the end) closes it, else 0."""
    j = i
    while j < len(text) and _is_han(text[j]):
        j += 1
    return j - i if j == len(text) or text[j] in _NAME_END else 0


def _label_names(text: str) -> list[tuple[int, int, str]]:
    """"患者：可心　住院号", "审核：秋爽", "技师：可欣": a person field's label, then a name its separator closes."""
    out = []
    for m in _LABEL.finditer(text):
        label = m.group(1)
        if label.endswith(_NOT_PERSON_LABELS) or not (label.endswith(_PERSON_LABELS) or label in _ROLE_OF):
            continue
        n = _bounded(text, m.end())
        cand = text[m.end() : m.end() + n]
        if n <= 3 and name_like(cand, closed=True) and (cand[0] not in _FUNCTION_FIRST or _given_stock(cand)):
            out.append((m.end(), m.end() + n, label_role(label)))
    return out


def _after_cue(text: str, i: int) -> int:
    """Length of a name right after a kin or role word at `i`: closed by a separator, or (three characters of
    given-name stock, else two) followed by a verb or particle or a word."""
    n = _bounded(text, i)
    if 2 <= n <= 3:
        # no colon: a word of the dictionary here is what the person does or has (患者平躺，, 患者寿命。)
        cand = text[i : i + n]
        return n if name_like(cand) and _given_stock(cand, True) else 0
    for g in (3, 2):
        cand = text[i : i + g]
        nxt = text[i + g : i + g + 2]
        if len(cand) < g or not name_like(cand) or not _given_stock(cand, g == 2) or cand[-1] in _PARTICLE_END:
            continue  # and not 龙腾在 of "家属龙腾在护士站"
        if g == 2 and cand[0] in _FUNCTION_FIRST:
            continue  # "家属都同意", "医生可考虑"; a three-character reading (可小梅在) stays
        if g == 3 and cand[-1] in "来去" and _dictionary_tags().get(text[i + 3 : i + 5], "").startswith("v"):
            continue  # "外孙女蓟红来陪护": 来 comes before the act; "儿子冬宝来说" stays
        if (nxt[:1] in _NEXT_CHARS or _dictionary_tags().get(nxt, "").startswith("v")  # 谈话, 签字; not 叶酸
                or text.startswith(CLAUSE_VERBS, i + g)):  # "社区医生钭昀每周电话核实"
            if crosses_words(note_cuts(text), i, i + g):
                continue
            return g
    return 0


# parts of speech of an ordinary word that is a given name after a kin word (建设 vn, 和平 nz, 海洋 ns, 春晖 nr), and
# of words that may not follow it: a time, number, measure or place word continues a phrase (家属于|今日, 母亲陈和平|孕期)
_WORD_GIVEN_TAGS = ("n", "nr", "nrfg", "nz", "ns", "vn")
_NOT_AFTER_WORD_GIVEN_TAGS = ("t", "m", "q", "f")
_KIN = frozenset(KIN_WORDS)


def _word_given(text: str, i: int) -> int:
    """Length of a surname and an ordinary two-character word right after a kin word ("次子刘建设坚决反对", "其妻曾和平
    接班"): the segmentation cuts the surname alone and the word whole, and the word is no clinical or person word."""
    sl = surname_len(text, i)
    if not sl or text[i] in _FUNCTION_FIRST or (
            sl == 1 and text[i] not in SURNAMES_TOP and _dictionary_tags().get(text[i], "").startswith("v")):
        return 0  # 母亲和女儿, 婆婆查身体
    cuts = note_cuts(text)
    a, b = i + sl, i + sl + 2
    word = text[a:b]
    if cuts.get(i, (i + sl, ""))[0] != i + sl or cuts.get(a, (0, ""))[0] != b:
        return 0  # 母亲|高血压, 其母|常规: the surname character is part of a word
    if (not _dictionary_tags().get(word, "").startswith(_WORD_GIVEN_TAGS) or word in NOT_NAMES_CLINICAL
            or word in _PERSON_WORDS or _CLINICAL_IN.search(word) or set(word) & _GIVEN_BAD):
        return 0
    nxt = cuts.get(b)
    if nxt and _dictionary_tags().get(nxt[1], "").startswith(_NOT_AFTER_WORD_GIVEN_TAGS):
        return 0
    return sl + 2


def _cue_names(text: str) -> list[tuple[int, int, str]]:
    """"儿子冬宝来说", "社工能文⏎", "家属可小梅在", "护士长云霄签字": a kin or role word, then a name."""
    out = []
    for m in _CUE.finditer(text):
        i = m.start() + len(m.group(1)) + len(m.group(2))
        n = _after_cue(text, i) or (_word_given(text, i) if m.group(1) in _KIN else 0)
        if n:
            out.append((i, i + n, _ROLE_OF.get(m.group(1), "")))
    return out


def _titled_names(text: str) -> list[tuple[int, int, str]]:
    """"请那英医生会诊", "，门捷护士长安排": a name between a clean left edge and a clinician's title."""
    out = []
    for m in _TITLE_AFTER.finditer(text):
        if re.match(r"[ \t\u3000]*[:：）)]", text[m.end() : m.end() + 4]):
            continue  # "值舱医师：", "（规培医师）": the word before qualifies a label, it is no name
        if read_name(text, m.end()) or (surname_len(text, m.end(), rare=False)
                                         and not dictionary_word(text[m.end() : m.end() + 2])):
            continue  # "椅旁护士蒋春晖": the title is a role word here, its name follows it
        for g in (3, 2):
            s = m.start() - g
            if s < 0:
                continue
            cand = text[s : m.start()]
            left = text[s - 1 : s]
            if left and _is_han(left) and left not in _BEFORE_NAME and left not in "请找问":
                continue
            if cand[-1] in _POST_END or cand[-1] in _PARTICLE_END or not name_like(cand) or (
                    (g == 3 or cand[0] in _FUNCTION_FIRST) and not all(c in COMMON_GIVEN for c in cand[1:])):
                continue  # not 需在 of "需在医生指导下"
            out.append((s, m.start(), CLINICIAN))
            break
    return out


# an English title or role before a Chinese name in bilingual notes ("Dr. 高朗", "physiotherapist 严格", "RN 张熠")
_EN_TITLE = re.compile(
    r"(?<![A-Za-z])(?:Dr|Doctor|Prof|Professor|Mr|Mrs|Ms|Miss|Nurse|Sister|RN|Physician|Surgeon|Pharmacist|Midwife"
    r"|Physio(?:therapist)?|Therapist|Consultant|Registrar|Resident|Intern|Fellow|Attending|Technician|Technologist"
    r"|Dietitian|Counsell?or|Coordinator|Social[ \t]+Worker|Psychologist|Radiographer|Anaesthetist|Anesthetist"
    r"|Paramedic|Optometrist|Audiologist|Interpreter|Translator|Witness|Recorder|Reviewer)"
    r"(?:\.?[ \t\u3000]+|[ \t]*[:：][ \t\u3000]*)(?=[" + _H + "])", re.IGNORECASE)


_EN_KIN = re.compile(
    r"(?<![A-Za-z])(?:brother|sister|mother|father|wife|husband|son|daughter|spouse|partner|guardian|cousin|uncle"
    r"|aunt|niece|nephew|grandson|granddaughter|grandmother|grandfather|mum|mom|dad)[ \t\u3000]+(?=[" + _H + "])",
    re.IGNORECASE)


# an English name field of a bilingual form ("Name: 赵老五", "Patient Name：…"): the patient, whatever the name looks like
_EN_NAME_FIELD = re.compile(
    r"(?<![A-Za-z])(?:(?:Patient(?:'s)?|Full|Client)[ \t]+Name|Name|Patient|Pt\.?)[ \t]*[:：][ \t\u3000]*(?=[" + _H + "])",
    re.IGNORECASE)


def _english_titled(text: str) -> list[tuple[int, int, str]]:
    """A Chinese name of two to four characters right after an English title or kin word, closed by anything but a
    Chinese character: the title speaks for it, even when the name is a word (严格, 高朗; "'s brother 唐雨水 will")."""
    out = []
    for m in (*_EN_TITLE.finditer(text), *_EN_KIN.finditer(text), *_EN_NAME_FIELD.finditer(text)):
        n = _bounded(text, m.end())
        cand = text[m.end() : m.end() + n]
        sl = surname_len(cand, 0)
        if 2 <= n <= 4 and (n < 4 or sl == 2) and (sl or name_like(cand, closed=True)) and cand not in _PERSON_WORDS \
                and cand not in _GENERIC and not _CLINICAL_IN.search(cand):
            out.append((m.end(), m.end() + n, {_EN_TITLE: CLINICIAN, _EN_KIN: RELATIVE}.get(m.re, PATIENT)))
    return out


def _header_names(text: str) -> list[tuple[int, int, str]]:
    """"冷月，72岁", "门学文，30岁，初产": a line (or field) that opens with a name and the patient's sex or age."""
    out = []
    for m in _HEADER.finditer(text):
        cand = m.group(1)
        if name_like(cand, closed=True) and not any(c in "男女性岁龄" for c in cand) and cand[-1] not in "人者儿":
            out.append((m.start(1), m.end(1), PATIENT))
    return out


def _speaker_names(text: str) -> list[tuple[int, int, str]]:
    """"门学文：孩子一哭我就心慌" twice: a turn-taker of a transcript, whose label opens two lines or more."""
    seen: dict[str, list[int]] = {}
    for m in _SPEAKER.finditer(text):
        cand = m.group(1)
        if name_like(cand, closed=True) and cand[-1] not in _LABEL_END:
            seen.setdefault(cand, []).append(m.start(1))
    # a word of the dictionary (郑重, 温柔) speaks only if the narrative names it too, outside the turns
    return [(s, s + len(c), "") for c, at in seen.items() if len(at) >= 2
            and (name_like(c) or text.count(c) > len(at)) for s in at]


# "护理评估（周予宁）：", "推拿处方（赵清越）：": a heading's author in brackets before its colon; "林屹（烧伤科）、": a
# name with its department in brackets after it
_AUTHOR = re.compile(r"[（(]([" + _H + r"]{2,4})[）)][ \t\u3000]*[:：]")
_NAME_DEPT = re.compile(r"(?:^|(?<=[，,、；;：:\s（(]))([" + _H + r"]{2,4})[（(][" + _H + r"]{1,8}(?:科|室|中心|病区)[）)]", re.M)


# "转出科室：神经外科（蓟然）": a department, then its clinician in brackets
_DEPT_NAME = re.compile(r"[" + _H + r"](?:科|室|中心|病区|病房)[（(]([" + _H + r"]{2,4})[）)]")
_DEPT_FIELD = re.compile(r"科室[:：][ \t\u3000]*[" + _H + r"]{1,10}$")  # "转出科室：神经外科（蓟然）": the department's field


def _bracket_names(text: str) -> list[tuple[int, int, str]]:
    out = [(m.start(1), m.end(1), CLINICIAN) for m in _DEPT_NAME.finditer(text)
           if surname_len(m.group(1), 0) and name_like(m.group(1), closed=True) and not dictionary_word(m.group(1))
           and (_given_stock(m.group(1)) or _DEPT_FIELD.search(text, max(0, m.start() - 12), m.start() + 1))]
    for rx in (_AUTHOR, _NAME_DEPT):
        for m in rx.finditer(text):
            cand = m.group(1)
            if surname_len(cand, 0) and cand[-1] not in "氏某" and name_like(cand, closed=True) and _given_stock(cand):
                out.append((m.start(1), m.end(1), CLINICIAN))
    return out


# "病例2：陈海洋，肝移植术后3年", "病例B：马骅，": a numbered case of a round or a review, then the patient's name
_CASE = re.compile(r"(?:病例|案例|个案|患者)[0-9A-Za-z一二三四五六七八九十]{1,3}[ \t\u3000]*[:：][ \t\u3000]*")


def _case_names(text: str) -> list[tuple[int, int, str]]:
    out = []
    for m in _CASE.finditer(text):
        n = _bounded(text, m.end())
        cand = text[m.end() : m.end() + n]
        if 2 <= n <= 4 and name_like(cand, closed=True) and (surname_len(cand, 0) or _given_stock(cand)):
            out.append((m.end(), m.end() + n, PATIENT))
    return out


def _table_names(text: str) -> list[tuple[int, int, str]]:
    """Cells of a column headed by a person field ("| 姓名 |" above "| 禚立新 |"), whatever the surname."""
    return [(a, a + len(cand), "") for a, cand in person_cells(text) if name_like(cand, closed=True)]


# what a person does right after being named in running text ("吴桐说", "徐冉同意", "门捷嘱")
_PERSON_NEXT = ("说", "问", "答", "嘱", "称", "表示", "同意", "签字", "交代", "提醒", "安排", "负责", "告知", "要求",
                "认为", "建议", "查看", "发现", "拒绝", "尊重", "辨认", "确认", "解释", "打电话", "陪同", "替", "让")
_ACTS = re.compile(_alt(_PERSON_NEXT))
_CLAUSE_EDGE = set("，,。；;：:！!？?\n \t\u3000、") | _BEFORE_NAME | set("请找让给叫")


def _acts_at(text: str, j: int) -> bool:
    """A person's act starts at `j`, and a one-character one is no part of a longer word (说|明, 问|题)."""
    m = _ACTS.match(text, j)
    return bool(m) and not (m.end() - j == 1 and dictionary_word(text[j : j + 2]))


def _voted_names(text: str) -> list[tuple[int, int, str]]:
    """A name with no cue and any surname, read where a clause opens (or a particle stands) before it and a
    person's act follows it, at two places or more in the note ("经徐冉同意…徐冉说", "找门捷看，门捷嘱")."""
    places: dict[str, list[int]] = {}
    for i in range(len(text) - 2):
        if i and text[i - 1] not in _CLAUSE_EDGE:
            continue
        for g in (3, 2):
            cand = text[i : i + g]
            if _acts_at(text, i + g) and name_like(cand):
                places.setdefault(cand, []).append(i)
                break
    places = {c: at for c, at in places.items() if len(at) >= 2}
    if not places:
        return []
    cuts = note_cuts(text)
    return [(i, i + len(c), "") for c, at in places.items()
            if len(kept := [i for i in at if not crosses_words(cuts, i, i + len(c))]) >= 2 for i in kept]


def cued_names(text: str) -> list[tuple[int, int, str]]:
    return (_label_names(text) + _cue_names(text) + _titled_names(text) + _header_names(text) + _speaker_names(text)
            + _table_names(text) + _voted_names(text) + _bracket_names(text) + _case_names(text) + _english_titled(text))

