"""Person names from their roles (issue #16): kin words, clinical roles and titles before or after a name,
form labels, names in parentheses-apposition and in lists, compound and rare surnames, sex/age headers,
bed numbers and signature lines. Each finder returns `(start, end, role)` with role one of PATIENT,
RELATIVE, CLINICIAN or "" (unknown); `deid.find_phi` merges them with its other detectors and then
replaces every other occurrence of each name string in the document."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator

from medgo.data.deid_lexicon import (
    CLAUSE_VERBS,
    CLINICIAN_ROLES,
    COMMON_GIVEN,
    DEPT_NEXT,
    FOLLOW_WORDS,
    KIN_WORDS,
    NAME_FOLLOW,
    NAME_ONLY_GIVEN,
    NAME_STOP,
    NOT_NAMES,
    NOT_NAMES_CLINICAL,
    NOT_NAMES_ROLE,
    PATIENT_CUES,
    PATIENT_CUES_EXTRA,
    PERSON_VERBS,
    SURNAMES_1,
    SURNAMES_2,
    SURNAMES_2_DISTINCT,
    SURNAMES_2_RARE,
    SURNAMES_MORE,
    SURNAMES_RARE,
    SURNAMES_TOP,
    TITLES_AFTER,
)

PATIENT, RELATIVE, CLINICIAN = "PATIENT", "RELATIVE", "CLINICIAN"
_H = "\u4e00-\u9fff"

# Characters that do not end a two-character given name in running text ("张磊陪同" is 张磊 + 陪同).
TRAIL_BAD = _TRAIL_BAD = set("交陪表要询带独随亦也均既未诉说称告知请拒看探送接回返再又仍还签的了和与及等为是系经因于在自述以入出无有今昨现曾已来去将对被向")
# Characters that are never part of a given name here: they belong to places, units and clinical words.
_GIVEN_BAD = set(
    "我你他她其院科室病症痛炎癌瘤术药片针剂次天年日周时分秒岁前后中内外上下左右床号处型性度级期区县市省"
    "路街村镇楼栋层号码电话机血尿便痰液压糖脂肝肾肺心胃肠脑骨皮肤眼耳鼻喉舌口腔腹胸背腰腿足手头颈部"
    "查检诊治疗疾患医护士师员者人及并或且某两位名个咳喘闷热吐泻晕肿胀痒疼报拒患"
    "吗呢吧啊呀么"  # sentence-final particles ("和这个病友关吗")
)
FUNCTION_SURNAMES = _FUNCTION_SURNAMES = set("曾向和与给找请问跟被让由叫是为于时后前告知诉对把将在从当经以及并或如常应需可要才再即则且又也都就还更最很至到按凭据随同替靠")


def _alt(words: tuple[str, ...] | set[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


_ROLE_OF: dict[str, str] = {}
for _w in CLINICIAN_ROLES:
    _ROLE_OF[_w] = CLINICIAN
for _w in KIN_WORDS:
    _ROLE_OF[_w] = RELATIVE
for _w in PATIENT_CUES + PATIENT_CUES_EXTRA:
    _ROLE_OF[_w] = PATIENT

_SEP = r"[ \t\u3000]*[:：|｜]?[ \t\u3000]*"
_CUE = re.compile("(?=(" + _alt(tuple(_ROLE_OF)) + ")(" + _SEP + "))")  # lookahead: overlapping cues
_TITLE = re.compile(_alt(TITLES_AFTER))
_FOLLOW_WORDS = tuple(sorted(set(TITLES_AFTER) | set(KIN_WORDS) | set(CLINICIAN_ROLES) | set(FOLLOW_WORDS), key=len,
                             reverse=True))
_PAREN = re.compile(r"[（(]([^（()）\n]{1,16})[）)]")
_PAREN_ROLE = re.compile(
    "(" + _alt(KIN_WORDS) + "|本人|患者|关系|科|主任|医师|医生|护士|教授|母|父|子|女|妻|夫|兄|弟|姐|妹|甥|侄|孙|媳|婿)"
)
_BED = re.compile(r"(?<![0-9])\d{1,3}\s*床[ \t\u3000]*[:：]?[ \t\u3000]*")
_SEX_AGE = re.compile(
    r"(?:^|(?<=[\s，,。；;：:、|｜]))([" + _H + r"]{2,4})(?:(?:[，,\s、/／|｜]+|[（(])(?:(?:男|女)(?:性)?(?:[，,\s、/／|｜]+\d{1,3}\s*岁)?|\d{1,3}\s*岁)|(?:男|女)\d{1,3}岁)",
    re.M,
)
_DATEISH = re.compile(r"[\s　0-9〇零一二三四五六七八九十年月日号:：./／\-]*")


def surname_len(text: str, i: int, rare: bool = True) -> int:
    two = text[i : i + 2]
    if two in SURNAMES_2 or (rare and two in SURNAMES_2_RARE):
        return 2
    one = text[i : i + 1]
    if one in SURNAMES_1 or (rare and (one in SURNAMES_RARE or one in SURNAMES_MORE)):
        return 1
    return 0


def _is_han(c: str) -> bool:
    return "\u4e00" <= c <= "\u9fff"


_LISTED_WORDS = frozenset(NOT_NAMES | NOT_NAMES_CLINICAL)
_NOT_NAME_PREFIXES = tuple(_LISTED_WORDS)


_BY_FIRST: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
for _c in {w[0] for w in NOT_NAMES | NOT_NAMES_CLINICAL}:
    _BY_FIRST[_c] = (tuple(w for w in NOT_NAMES if w[0] == _c), tuple(w for w in NOT_NAMES_CLINICAL if w[0] == _c))


def clinical_term_at(text: str, i: int, past: int = -1) -> bool:
    """A clinical word of the stop-list starts at `i` ("贾第鞭毛虫", "石膏"), and runs past `past` when given (the
    林 of 柏林定义 is inside 柏林定义)."""
    return any(text.startswith(w, i) and i + len(w) > past for w in _BY_FIRST.get(text[i : i + 1], ((), ()))[1])


def starts_or_prefixes_common_word(cand: str) -> bool:
    """`cand` starts with a NOT_NAMES word or is the start of one."""
    return any(cand.startswith(w) or w.startswith(cand) for w in _BY_FIRST.get(cand[:1], ((), ()))[0])


@functools.cache
def _dictionary_tags() -> dict[str, str]:
    """jieba's dictionary (word -> part of speech): ~350k common words, person names tagged nr."""
    import jieba.posseg

    return jieba.posseg.dt.word_tag_tab


def dictionary_word(cand: str) -> bool:
    """A common word of the language that cannot be a person name ("慎用", "顺利", "男性"). Words tagged as
    names (nr: "王建国", "高峰") or places (ns: "陆海", "江河", often given names too) stay possible names."""
    tag = _dictionary_tags().get(cand)
    return tag is not None and not tag.startswith(("nr", "ns"))


def person_name_word(word: str) -> bool:
    """The dictionary tags `word` as a person's name (张力 is a symptom and a name)."""
    return _dictionary_tags().get(word, "").startswith("nr")


def not_a_name(cand: str) -> bool:
    """A clinical or common word, or the start of one ("高血" of 高血压), rather than a name."""
    if cand in NOT_NAMES or cand in NOT_NAMES_ROLE or cand in NOT_NAMES_CLINICAL or dictionary_word(cand):
        return True
    common, clinical = _BY_FIRST.get(cand[:1], ((), ()))
    if any(w.startswith(cand) for w in clinical):
        return True
    return any(cand.startswith(w) or w.startswith(cand) for w in common)


# _GIVEN_BAD characters that real given names do use (天明, 永年, 建中, 心怡, 前进): allowed beside a frequent
# given-name character, when the two make no common word (明天, 中午, 心爱); name words (天明 nz) are fine
_GIVEN_SOFT = set("天年中心前栋")


def plausible_given(given: str) -> bool:
    bad = [c for c in given if c in _GIVEN_BAD]
    if not bad:
        return True
    if len(given) != 2 or len(bad) != 1 or bad[0] not in _GIVEN_SOFT:
        return False
    other = given[1] if bad[0] == given[0] else given[0]
    tag = _dictionary_tags().get(given)
    return other in COMMON_GIVEN and (tag is None or tag.startswith(("nr", "ns", "nz")))


def _given_ok(given: str) -> bool:
    return bool(given) and given[0] not in NAME_STOP and plausible_given(given)


# Verbs and symptoms that start right after a name ("魏东查看", "王芳咳嗽"); for a three-character reading
# any character that is not a name character ends it ("蒋文涛查房", "卞金凤咳嗽").
_VERB_NEXT = set("查报咳喘闷热吐泻晕肿胀痒疼拒诊治看说问")


def _ends_ok(text: str, j: int, long: bool = False) -> bool:
    nxt = text[j : j + 1]
    return (not nxt or not _is_han(nxt) or nxt in NAME_FOLLOW or nxt in (_GIVEN_BAD if long else _VERB_NEXT)
            or text.startswith(_FOLLOW_WORDS, j))


def read_name(text: str, i: int, rare: bool = True, fallback: bool = False) -> int:
    """Length of a name starting at `i` (surname + one or two given characters) that ends where a name can
    end; 0 if none. The longer reading wins when both end well. With `fallback` (a role or kin word stands
    right before), a reading made of frequent given-name characters is taken even without a clean end."""
    sl = surname_len(text, i, rare)
    if not sl or (text[i] in "查左右" and sl == 1):  # "患者查离子", "患者左髋部": not surnames here
        return 0
    for g in (2, 1):
        cand = text[i : i + sl + g]
        if len(cand) < sl + g or not all(_is_han(c) for c in cand):
            continue
        given = cand[sl:]
        # after a compound surname a two-character given name may open with a function character (东方既白, 欧阳以诺)
        compound = sl == 2 and g == 2 and given[1] not in NAME_STOP and plausible_given(given) and not dictionary_word(given)
        if not (_given_ok(given) or compound) or (g == 2 and given[-1] in _TRAIL_BAD):
            continue
        if not_a_name(cand) or text.startswith(_NOT_NAME_PREFIXES, i):
            continue
        if _ends_ok(text, i + sl + g, long=g == 2):
            if g == 2 and not text.startswith(_FOLLOW_WORDS, i + sl + 2) and _word_runs_past(text, i, i + sl + 2):
                # "薛明多次沟通": the segmentation ends the name before the word (多次), if it reads as one
                short = text[i : i + sl + 1]
                return sl + 1 if _given_ok(short[sl:]) and not not_a_name(short) else 0
            return sl + g
    if fallback:
        for g in (2, 1):
            cand = text[i : i + sl + g]
            given = cand[sl:]
            if (len(given) == g and all(c in COMMON_GIVEN for c in given) and _given_ok(given)
                    and not (g == 2 and given[-1] in _TRAIL_BAD) and not not_a_name(cand)
                    and not text.startswith(_NOT_NAME_PREFIXES, i)
                    and not (g == 2 and dictionary_word(text[i + sl + 1 : i + sl + 3]))):  # 叶青|建议, not 叶青建
                return sl + g
    return 0


def _word_runs_past(text: str, a: int, b: int) -> bool:
    """The reading's last character starts a word of the segmentation that runs past it ("志愿者宁远发现后" is
    宁远 + 发现, not 宁远发); judged on a window around the reading."""
    if not dictionary_word(text[b - 1 : b + 1]):
        return False
    lo = max(0, a - 6)
    cut = word_cuts(text[lo : b + 6]).get(b - 1 - lo)
    return bool(cut and cut[0] == b + 1 - lo and cut[1][1] not in _AFTER_NAME)


def name_ending_at(text: str, j: int, rare: bool = True) -> int:
    """Start of a name that ends at `j` (just before a title or a parenthesis), or -1. Prefers a reading
    whose left neighbour is not a Chinese character, then the longest one that starts with a surname
    which is not a function word here."""
    best = -1
    for k in (4, 3, 2):
        s = j - k
        if s < 0:
            continue
        cand = text[s:j]
        if not all(_is_han(c) for c in cand):
            continue
        sl = surname_len(text, s, rare)
        if not sl or sl >= k or not _given_ok(cand[sl:]) or not_a_name(cand) or k - sl > 2:
            continue
        if any(c in _TRAIL_BAD for c in cand[sl:]):
            continue
        if k == 4 and sl != 2:
            continue
        left = text[s - 1 : s]
        if not left or not _is_han(left):
            return s
        if best < 0 and not (k > 2 and cand[0] in _FUNCTION_SURNAMES and surname_len(text, s + 1, False)):
            best = s
    return best


def _cue_names(text: str) -> list[tuple[int, int, str]]:
    out = []
    for m in _CUE.finditer(text):
        cue, sep = m.group(1), m.group(2)
        role = _ROLE_OF[cue]
        i = m.start() + len(cue) + len(sep)
        # Without a separator only common surnames follow a clinical role ("医生常会安排" is not a name).
        if not sep and text[i : i + 1] in _FUNCTION_SURNAMES:
            # "患者于受凉后", "患者应留意", "医生和朋友": a function word, unless a clean, common-looking name
            n = read_name(text, i, rare=False)
            if n and not all(c in COMMON_GIVEN for c in text[i + 1 : i + n]):
                n = 0
        else:
            n = read_name(text, i, rare=bool(sep.strip()) or role != CLINICIAN, fallback=True)
        if n:
            out.append((i, i + n, role))
    return out


# "接种人：汪洁", "评估师：冯刚", "访视对象：佘宝华，住...": any short form label, then a whole name token.
_LABEL = re.compile(r"([" + _H + r"]{1,6})(?:[（(][^（()）\n]{1,6}[）)])?[ \t\u3000]*[:：][ \t\u3000]*")
_NOT_PERSON_LABELS = (
    "诊断", "主诉", "病史", "既往史", "现病史", "个人史", "家族史", "婚育史", "过敏史", "处理", "用药", "药物", "方案",
    "结论", "检查", "项目", "标本", "结果", "职业", "民族", "籍贯", "婚姻", "过敏", "处方", "治疗", "查体", "体征",
    "意见", "建议", "印象", "所见", "部位", "名称", "疫苗", "计划", "诊疗", "转归", "病理", "地址", "住址", "科室", "主题",
    "图", "示", "超", "片", "镜", "声", "见", "为", "CT", "化验", "血常规", "生化", "体检",
)
_NAME_END = set("，,。；;、（( \t\u3000\n|｜/：:")


# labels of a person field: the name after them may be an ordinary word (姓名：甘露, 服药人员：成功, 复核：查俊)
_PERSON_LABELS = ("姓名", "者", "人", "人员", "医生", "医师", "护士", "师", "员", "士", "翻译", "社工", "签名", "签字",
                  "复核", "审核", "核对", "经办", "家属", "签到", "出席", "接听", "接诊", "母亲", "父亲", "配偶", "监护")


def label_role(label: str) -> str:
    """The role a form label gives the name after it: its own, else that of a role word it ends with (经治医生)."""
    return _ROLE_OF.get(label) or next((r for w, r in _ROLE_OF.items() if label.endswith(w)), "")


def _label_names(text: str) -> list[tuple[int, int, str]]:
    out = []
    for m in _LABEL.finditer(text):
        label = m.group(1)
        if label.endswith(_NOT_PERSON_LABELS):
            continue
        i = m.end()
        sl = surname_len(text, i, True)
        person = label.endswith(_PERSON_LABELS)  # 姓名：, 受检者：, 经办人：, 复核：: whatever name stands there
        if not sl or (text[i] in "查左右" and not person):
            continue
        j = i + sl
        while j < len(text) and j - i < sl + 2 and _is_han(text[j]):
            j += 1
        cand = text[i:j]
        if len(cand) <= sl:
            continue
        if j < len(text) and text[j] not in _NAME_END:
            # "报告：上官婉清胸闷": a name of frequent given-name characters, then a symptom or verb
            for g in (2, 1):
                e = i + sl + g
                if e <= j and text[e : e + 1] in _GIVEN_BAD and all(c in COMMON_GIVEN for c in text[i + sl : e]):
                    break
            else:
                continue
            j, cand = e, text[i:e]
        if not _given_ok(cand[sl:]) or (not person and (not_a_name(cand) or text.startswith(_NOT_NAME_PREFIXES, i))):
            continue
        if person and (cand in NOT_NAMES_CLINICAL or clinical_term_at(text, i)):
            continue
        out.append((i, j, label_role(label)))
    return out


_PERSON_VERB = re.compile("(?:" + _alt(PERSON_VERBS) + ")")
_PAREN_OPEN_NAME = re.compile(r"[（(][ \t\u3000]*")


def _object_names(text: str) -> list[tuple[int, int, str]]:
    """"巡视谢军，诉头痛", "兹转诊俞杭生，89岁": a verb that takes a person, then a clean name made of frequent
    given-name characters; and "（芮小萍，患者之妻）": a name opening a parenthesis, a kin word after it."""
    out = []
    for m in _PERSON_VERB.finditer(text):
        i = m.end()
        n = read_name(text, i, rare=True)
        if n and text[i] not in _FUNCTION_SURNAMES:
            nxt = text[i + n : i + n + 1]
            common = all(c in COMMON_GIVEN for c in text[i + surname_len(text, i):i + n])
            # a rarer given name only where the name is closed by punctuation ("兹转诊俞杭生，89岁")
            if (common and (not nxt or not _is_han(nxt) or text.startswith(_FOLLOW_WORDS, i + n))) or (
                nxt in ("，", ",", "。", "（", "(", "、", "；", "：", ":")
            ):
                out.append((i, i + n, ""))
    for m in _PAREN_OPEN_NAME.finditer(text):
        i = m.end()
        n = read_name(text, i, rare=True)
        if n and text[i + n : i + n + 1] in ("，", ",", "、", " ") and _PAREN_ROLE.search(text[i + n : i + n + 12]):
            out.append((i, i + n, RELATIVE))
    return out


_SUFFIX_ROLE = re.compile("[" + _H + "]{1,4}师(?=[" + _H + "])")
_CLAUSE_START = re.compile(r"(?:^|(?<=[，,。；;！!？?\n]))[ \t\u3000]*", re.M)
_CLAUSE_VERB_RX = tuple(CLAUSE_VERBS)


def _suffix_role_names(text: str) -> list[tuple[int, int, str]]:
    """"营养师戴丽华建议", "康复师程丽每日...": a role word ending in 师, then a name."""
    out = []
    for m in _SUFFIX_ROLE.finditer(text):
        i = m.end()
        if text[i] in _FUNCTION_SURNAMES:
            continue
        n = read_name(text, i, rare=True, fallback=True)
        if n:
            out.append((i, i + n, CLINICIAN))
    return out


def _common_readings(text: str, i: int) -> list[int]:
    """Ends of the readings at `i` made of a surname and one or two frequent given-name characters, longer
    first, that are not clinical or common words; none where `i` holds a function-word or 查/左/右 surname."""
    sl = surname_len(text, i, True)
    if not sl or text[i] in _FUNCTION_SURNAMES or text[i] in "查左右":
        return []
    ends = []
    for g in (2, 1):
        e = i + sl + g
        cand = text[i:e]
        if (len(cand) == sl + g and all(c in COMMON_GIVEN for c in cand[sl:]) and _given_ok(cand[sl:])
                and not not_a_name(cand) and not text.startswith(_NOT_NAME_PREFIXES, i)):
            ends.append(e)
    return ends


def _clause_subject_names(text: str) -> list[tuple[int, int, str]]:
    """A clause that opens with a name and goes on with what people do: "，杜鹏飞电话告知…", "；方芳每周评估…"."""
    out = []
    for m in _CLAUSE_START.finditer(text):
        i = m.end()
        for e in _common_readings(text, i):
            if text.startswith(_CLAUSE_VERB_RX, e):
                out.append((i, e, ""))
                break
    return out


# 办: 医保办, 医务办, 院办; the hospital's offices and the public-health bodies that write to it
_DEPT = re.compile("(?:[" + _H + "]{1,6}(?:科|室|办|药学部|医务部|护理部|医学部|疾控中心|疾控|病房)|(?:医务|护理|科教|质控|医保)处)"
                   "[ \t\u3000]*")
# "唐琛（025 3860…）", "药剂科孙珝，0891-553141", "营养科唐淳（vzf.tli@sina.com）": the person's phone or e-mail
_PHONE_AFTER = re.compile(r"[（(，,][ \t\u3000]*(?:电话|手机|分机|邮箱)?[:：]?[ \t\u3000]*"
                          r"(?:\+?\d[\d \-]{3,}|[A-Za-z0-9._%+-]+@)")
_LABEL_AFTER = re.compile("[ \t\u3000]+[" + _H + "]{2,6}[:：]")  # "预防保健科宋祎　报告日期：…"
# "由何婧排除左心耳血栓", "请李子墨会诊", "（聂赟监督留样）": the agent of a clinical act
_BY = re.compile("(?:由|交由|改由|请|待|经|[（(])")


def _ends_line(text: str, e: int) -> bool:
    """Nothing but spaces or a full stop between `e` and the line's end ("心外科高湉。⏎", "心内科 段立平⏎")."""
    return text[e:].lstrip(" \t\u3000。")[:1] in ("\n", "")


def _department_names(text: str) -> list[tuple[int, int, str]]:
    """"检验科石磊来电报告", "心内科 段立平⏎电话...": a department, then a name that ends the line or goes on
    with what clinicians do."""
    out = []
    for m in _DEPT.finditer(text):
        i = m.end()
        n = read_name(text, i, rare=False) if text[i : i + 1] not in _FUNCTION_SURNAMES else 0
        sure = n and (text.startswith(DEPT_NEXT, i + n) or _PHONE_AFTER.match(text, i + n)
                      or (_ends_line(text, i + n) and _clear_of_words(text, i, i + n)))
        for e in _common_readings(text, i) + ([i + n] if sure else []):
            nxt = text[e : e + 1]
            if nxt in ("；", ";") or _ends_line(text, e) or (
                text.startswith(DEPT_NEXT, e) or _PHONE_AFTER.match(text, e) or _LABEL_AFTER.match(text, e)
                or (nxt == "、" and _DEPT.match(text, e + 1))  # "微生物室黄珺、医务处朱予": a list of posts
            ):
                out.append((i, e, CLINICIAN))
                break
        else:
            if (e := _word_named_at(text, i)) > i:
                out.append((i, e, CLINICIAN))
    for m in _BY.finditer(text):  # "由 / 请 + name + what clinicians do (or when)": no line end, the act must follow
        i = m.end()
        n = read_name(text, i, rare=False) if text[i : i + 1] not in _FUNCTION_SURNAMES else 0
        bracket = m.group() in "（("  # in brackets only a clinician's act of two characters or more
        for e in _common_readings(text, i) + ([i + n] if n else []) + _acted_readings(text, i):
            if (text.startswith(DEPT_NEXT, e) and not text.startswith(("在", "处"), e)
                    and not (bracket and not text.startswith(_LONG_ACTS, e))) or (
                    e == i + n and text.startswith("于", e) and not bracket):
                out.append((i, e, CLINICIAN))
                break
    return out


_LONG_ACTS = tuple(w for w in DEPT_NEXT if len(w) >= 2)

# a clinician's title, or a department, right before a clinical word of the stop-list ("助手丁香。", "专科护士何首乌
# 给予", "麻醉科丁香、介入科冉然"): closed by a hard edge (or 给予 after a title), no herb stands there, a person does. Titles only, not the verbs of CLINICIAN_ROLES (签名盖章, 审核通过).
_TITLE_ROLES = tuple(w for w in CLINICIAN_ROLES if w.endswith(("师", "生", "士", "主刀", "术者", "助", "助手", "大夫", "教授")))
# not 室 (右心室高压); of the offices with 处 only those that name a desk (收费处姜黄), not 此处 / 患处
_TITLE_OR_DEPT = re.compile("(?:" + _alt(_TITLE_ROLES) + "|[" + _H + "]{1,6}科|(?:收费|挂号|住院|入院|出院|财务|医保|医务|护理)处)")
_HARD_EDGE = set("、，,。；;）)　 \t\n")


# manner words that open with a surname character and stand between a department and its act ("眼科常规复查",
# "ICU严密随访"): no person
_MANNER_WORDS = frozenset(("常规", "全面", "严密", "严格", "单独", "连续", "陆续", "时常", "曾经", "常年", "常常", "高度", "何时",
                           "安全", "平稳", "方便", "成功", "齐全", "简单", "简要", "明确", "强化", "余下", "门诊", "程序",
                           "于是", "尤其", "包括", "向来", "初步", "单次", "多次", "长期", "定期", "重点", "统一", "首次"))


_LESION_CHARS = frozenset("斑疹痣疣瘤癣疮痘痂脓肿疱结痔瘘")


def _titled_listed_words(text: str) -> list[tuple[int, int, str]]:
    out = []
    for m in _TITLE_OR_DEPT.finditer(text):
        i = m.end()
        if not surname_len(text, i, rare=False) or text[i] in _FUNCTION_SURNAMES:
            continue
        titled = m.group()[-1] not in "科处"  # after a department no act: "新生儿科黄疸随访门诊" is a clinic
        for w in sorted(_BY_FIRST.get(text[i], ((), ()))[1], key=len, reverse=True):  # not the common words (白班)
            e = i + len(w)
            if len(w) in (2, 3) and text.startswith(w, i) and (
                    text[e : e + 1] in _HARD_EDGE or e == len(text) or (titled and text.startswith(("给予", "予以"), e))
                    or (text[e : e + 1] == "与" and _DEPT.match(text, e + 1))):
                out.append((i, e, CLINICIAN))
                break
        else:
            # a title, then a surname and one character that make a rare word (主管医师康衢　), then a hard edge
            cand, e = text[i : i + 2], i + 2
            if (titled and surname_len(text, i, False) == 1 and _is_han(cand[-1:]) and dictionary_word(cand)
                    and cand not in NOT_NAMES and cand not in _MANNER_WORDS and cand[1] not in _LESION_CHARS
                    and text[e : e + 1] in _HARD_EDGE and text[e : e + 1] not in "、）)" and not clinical_term_at(text, i)):
                out.append((i, e, CLINICIAN))
    return out


def _word_named_at(text: str, i: int) -> int:
    """End of a clinician named by a word right after a department, then an act of two characters or 行 + a
    procedure ("泌尿外科温润行尿动力学检查", "男科舒适复查"): the department and the act speak for the person; -1
    if none. Not a manner word, nor a clinical term."""
    sl = surname_len(text, i, False)
    e = i + sl + 1
    if sl != 1 or text[i] in _FUNCTION_SURNAMES or text[i] in "查左右" or not _is_han(text[e - 1 : e]):
        return -1
    cand = text[i:e]
    if (cand in _MANNER_WORDS or cand in NOT_NAMES_CLINICAL or clinical_term_at(text, i) or not dictionary_word(cand)
            or cand[1] in _LESION_CHARS):  # 皮肤科白斑复查, 眼科黄斑复查: a finding
        return -1
    act = text.startswith((*_LONG_ACTS, "复查", "主讲"), e) or (text.startswith("行", e) and _is_han(text[e + 1 : e + 2]))
    return e if act else -1


def _acted_readings(text: str, i: int) -> list[int]:
    """Ends of the readings at `i` (a surname, one or two given characters of any kind) that a clinician's act of
    two characters follows ("聂赟监督", "由宓妍复核"): the act closes the name that no frequent character marks."""
    sl = surname_len(text, i, False)
    if not sl or text[i] in _FUNCTION_SURNAMES or text[i] in "查左右":
        return []
    return [e for g in (2, 1) if (e := i + sl + g) <= len(text) and all(_is_han(c) for c in text[i + sl : e])
            and _given_ok(text[i + sl : e]) and not not_a_name(text[i:e]) and not text.startswith(_NOT_NAME_PREFIXES, i)
            and (text.startswith(_LONG_ACTS, e) or (text.startswith("行", e) and _dictionary_tags().get(
                text[e + 1 : e + 3], "").startswith("n")))]  # "由郑旸行冠状动脉造影": 行 before a procedure


# distinctive compound surnames that are words or places too (长孙 is a grandson, 濮阳 and 南宫 are cities)
_COMPOUND_WORDS = frozenset(("长孙", "濮阳", "南宫"))


def _free_names(text: str) -> list[tuple[int, int, str]]:
    """Names with no cue at all: a frequent (or compound) surname, then one given character from
    NAME_ONLY_GIVEN, or two frequent given characters at least one of which is from it ("谢军", "王志强")."""
    out = []
    i, n = 0, len(text)
    while i < n:
        two = text[i : i + 2]
        sl = 2 if two in SURNAMES_2 else (1 if text[i] in SURNAMES_TOP and text[i] not in _FUNCTION_SURNAMES else 0)
        hit = 0
        if two in SURNAMES_2_DISTINCT and two not in _COMPOUND_WORDS:
            for g in (2, 1):  # a distinctive compound surname: its given name needs no frequency test
                given = text[i + 2 : i + 2 + g]
                if len(given) == g and all(_is_han(c) for c in given) and _given_ok(given) and (
                    g == 1 or given[-1] not in _TRAIL_BAD) and (g == 1 or not _ends_ok(text, i + 3, long=False)
                                                                or given[-1] in COMMON_GIVEN):
                    hit = 2 + g
                    break
            given = text[i + 2 : i + 4]
            if (not hit and len(given) == 2 and all(_is_han(c) for c in given)
                    and given[-1] not in _PLACE_END and not clinical_term_at(text, i + 2) and _ends_ok(text, i + 4)
                    and not text.startswith(_FOLLOW_WORDS, i + 2)):
                hit = 4  # "学生皇甫未来，", "解放、欧阳和平的母亲": a given name that is a word (未来, 和平)
            if hit:
                out.append((i, i + hit, ""))
                i += hit
                continue
        if sl:
            for g in (2, 1):
                given = text[i + sl : i + sl + g]
                if len(given) < g or not all(_is_han(c) for c in given):
                    continue
                if g == 2 and not (all(c in COMMON_GIVEN for c in given) and any(c in NAME_ONLY_GIVEN for c in given)):
                    continue
                if g == 1 and given not in NAME_ONLY_GIVEN:
                    continue
                cand = text[i : i + sl + g]
                if (_given_ok(given) and not not_a_name(cand) and not text.startswith(_NOT_NAME_PREFIXES, i)
                        and not ends_a_word(text, i) and not (i and text[i - 1 : i + 1] in _LISTED_WORDS)):  # 柴胡|桂枝汤
                    hit = sl + g
                    nxt = text[i + hit : i + hit + 1]
                    if (g == 1 and _is_han(nxt) and not _ends_ok(text, i + hit) and _given_ok(given + nxt)
                            and nxt not in _TRAIL_BAD and _ends_ok(text, i + hit + 1, long=True)
                            and not not_a_name(cand + nxt)):
                        hit += 1  # "刘怡然；": the whole name, not 刘怡 and a leaking 然
                    break
        if hit:
            out.append((i, i + hit, ""))
            i += hit
        else:
            i += 1
    return out


_ACTIVITY = ("查看", "查房", "会诊", "共同", "两位", "三位", "一同", "参加", "讨论", "看过", "到场", "在场", "签字",
             "护理", "值班", "夜班", "白班", "交班", "接班", "陪护", "负责")


def _activity_lists(text: str) -> list[tuple[int, int, str]]:
    """"今日金鑫、范志伟查看患者": two or more names in a list, followed by what clinicians do."""
    out = []
    for m in re.finditer("、", text):
        b = name_ending_at(text, m.start(), rare=True)
        if b < 0 or not all(c in COMMON_GIVEN for c in text[b + surname_len(text, b):m.start()]):
            continue
        i = m.end()
        sl = surname_len(text, i, True)
        for g in (2, 1):
            e = i + sl + g
            if sl and text.startswith(_ACTIVITY, e) and all(c in COMMON_GIVEN for c in text[i + sl:e]) \
                    and not not_a_name(text[i:e]):
                out += [(b, m.start(), CLINICIAN), (i, e, CLINICIAN)]
                break
    return out


def verb_then_surname(text: str, s: int) -> bool:
    """The segmentation reads a word of two characters at `s` and a frequent surname after it ("安抚|刘阿姨")."""
    return note_cuts(text).get(s, (0, ""))[0] == s + 2 and text[s + 2 : s + 3] in SURNAMES_TOP


def _titled_names(text: str) -> list[tuple[int, int, str]]:
    out = []
    for m in _TITLE.finditer(text):
        t = m.group(0)
        end = m.start()
        if t in ("敬上", "谨上", "敬启", "谨启"):
            while end > 0 and text[end - 1] in " \t\u3000":
                end -= 1  # "内分泌科 金鑫 敬上"
        s = name_ending_at(text, end, rare=True)
        if s < 0:
            continue
        if text[s - 1 : s + 1] in ("主任", "主治", "副主", "责任") or text[s - 2 : s] in ("主任", "护士"):
            continue
        if len(text[s:end]) == 1 or (end - s == 3 and verb_then_surname(text, s)):
            continue  # a surname alone before its title is read elsewhere ("安抚刘阿姨")
        role = "" if t in ("先生", "女士", "小姐", "阿姨", "同志", "老师", "您好") else CLINICIAN
        out.append((s, end, role))
    return out


_KIN_AFTER = re.compile("(?:的|之)?(?:" + _alt(tuple(w for w in KIN_WORDS if not w.startswith(("之", "其")))) + ")")
_LINE_NEXT = {"今日", "今天", "昨日", "昨天", "昨晚", "目前", "自诉", "现在", "入院", "出院", "术后", "病情", "神志",
              "昨夜", "今晨", "晨起", "夜间", "精神", "睡眠", "饮食", "体温", "生命体征", "一般情况"}
_LINE_START = re.compile(r"^[ \t\u3000]*", re.M)


def _kin_after_names(text: str) -> list[tuple[int, int, str]]:
    """"张建国女儿张晓峰询问", "向刘淑芬丈夫告知": the name before a kin word is the patient's."""
    out = []
    for m in _KIN_AFTER.finditer(text):
        s = name_ending_at(text, m.start(), rare=True)
        if s < 0 or m.start() - s < 2:
            continue
        left = text[s - 1 : s]
        if left and _is_han(left) and left not in "向与和及对给把让由被请嘱告知诉经":
            continue
        out.append((s, m.start(), PATIENT))
    return out


def _line_start_names(text: str) -> list[tuple[int, int, str]]:
    """A line that opens with a name followed by 于 + a date, or 因 ("刘淑芬于2018年4月16日在全麻下...")."""
    out = []
    for m in _LINE_START.finditer(text):
        i = m.end()
        n = read_name(text, i, rare=True)
        if not n:
            continue
        nxt = text[i + n : i + n + 2]
        if (nxt[:1] == "于" and nxt[1:2].isdigit()) or nxt[:1] in ("因", "诉") or text.startswith(
            tuple(_LINE_NEXT), i + n) or (
            nxt[:1] in "，,（(\u3000" and n <= 4 and all(c in COMMON_GIVEN for c in text[i + surname_len(text, i):i + n])
        ):
            out.append((i, i + n, PATIENT))
    return out


def _kin_word_named_before(text: str, j: int) -> int:
    """Start of a surname and one given character that end at `j` (a bracket naming the person's post follows) right
    after a kin word, even when the two make a word ("表姐方寸（本院药剂科）"); -1 if none."""
    s = j - 2
    if s < 1 or surname_len(text, s, True) != 1 or not all(_is_han(c) for c in text[s:j]) \
            or not text[:s].endswith(KIN_WORDS) or text[s:j] in NOT_NAMES_CLINICAL or clinical_term_at(text, s):
        return -1
    return s


def _paren_names(text: str) -> list[tuple[int, int, str]]:
    out = []
    for m in _PAREN.finditer(text):
        inner = m.group(1)
        r = _PAREN_ROLE.search(inner)
        sex_age = re.match(r"\s*(?:男|女|\d{1,3}\s*岁)", inner)
        if not r and not sex_age:
            continue
        s = name_ending_at(text, m.start(), rare=True)
        if s < 0:
            s = _kin_word_named_before(text, m.start())
        if s < 0:
            continue
        left = text[s - 1 : s]
        if left and _is_han(left) and not text[:s].endswith(tuple(_ROLE_OF)):
            continue
        if "本人" in inner or sex_age:
            role = PATIENT
        elif re.search("科|主任|医师|医生|护士|教授", inner) and "患者" not in inner:
            role = CLINICIAN
        else:
            role = RELATIVE  # "（女儿）", "（配偶）", "（患者母亲）"
        out.append((s, m.start(), role))
    return out


_EXTRA_KIN = ("家属", "委托人", "授权委托人", "代理人", "监护人", "联系人", "紧急联系人", "陪护", "陪同人")
_ROLE_BEFORE_PAREN = re.compile(
    "(?:(" + _alt(CLINICIAN_ROLES) + ")|(" + _alt(PATIENT_CUES) + ")|(" + _alt(KIN_WORDS + _EXTRA_KIN) + "))[（(]([" + _H
    + r"]{2,5})[）)]"
)


def _role_paren_names(text: str) -> list[tuple[int, int, str]]:
    """A name in parentheses right after its role word: "谈话医师（吴春生）", "患者（高素英）", "委托人（贺鹏）"."""
    out = []
    for m in _ROLE_BEFORE_PAREN.finditer(text):
        cand = m.group(4)
        sl = surname_len(cand, 0, True)
        if not sl or not 1 <= len(cand) - sl <= 2 or not _given_ok(cand[sl:]) or not_a_name(cand):
            continue
        role = CLINICIAN if m.group(1) else PATIENT if m.group(2) else RELATIVE
        out.append((m.start(4), m.end(4), role))
    return out


# a letter's salutation to a clinician by title ("致校医何其远：", "致主治医师范晔："): the title and the colon speak for the
# name, even one whose given characters are words (何其远)
_SALUTATION = re.compile("(?:致|敬致|呈)(?:" + _alt(_TITLE_ROLES + tuple(w for w in CLINICIAN_ROLES if w.endswith("医"))) + ")([" + _H + "]{2,4})[ \t\u3000]*[:：，,]")


def _salutation_names(text: str) -> list[tuple[int, int, str]]:
    out = []
    for m in _SALUTATION.finditer(text):
        cand = m.group(1)
        sl = surname_len(cand, 0, True)
        if sl and 1 <= len(cand) - sl <= 2 and cand not in NOT_NAMES_CLINICAL and not cand.endswith(("老师", "同志")):
            out.append((m.start(1), m.end(1), CLINICIAN))
    return out


# the anaesthesia given, then its anaesthetist opening a bracket ("全麻（金晶；丙泊酚…）", "局麻（由雷鸣）")
_ANAESTHESIA_PAREN = re.compile(r"(?:麻醉|全麻|局麻|镇静)[^（()）\n：:]{0,12}[（(](?:由|经)?")


def _anaesthetist_paren_names(text: str) -> list[tuple[int, int, str]]:
    out = []
    for m in _ANAESTHESIA_PAREN.finditer(text):
        n = read_name(text, m.end(), rare=True, fallback=True)
        if n and text[m.end() + n : m.end() + n + 1] in ("；", ";", "，", ",", "）", ")", "、") \
                and not clinical_term_at(text, m.end()):
            out.append((m.end(), m.end() + n, CLINICIAN))
    return out


_SPEAKER = re.compile(r"^[ \t\u3000]*([" + _H + r"]{2,4})[ \t\u3000]*[:：]", re.M)


def _speaker_names(text: str) -> list[tuple[int, int, str]]:
    """Speakers of a written conversation (chat logs, call transcripts): lines that open "X：", where at least two
    such labels read as names ("查磊：您好…" / "陈海波：好的"). A single "X：" line stays a form label."""
    found = []
    for m in _SPEAKER.finditer(text):
        cand = m.group(1)
        sl = surname_len(cand, 0, True)
        if sl and 1 <= len(cand) - sl <= 2 and _given_ok(cand[sl:]) and not not_a_name(cand):
            found.append((m.start(1), m.end(1), ""))
    return found if len(found) >= 2 else []


def ends_a_word(text: str, a: int) -> bool:
    """text[a] ends a word that starts before it ("如何才能" has no name 何才能), unless the character before
    belongs to the word before that ("早上周美华" is 早上 + 周美华, not 上周)."""
    return a > 0 and dictionary_word(text[a - 1 : a + 1]) and not (a > 1 and dictionary_word(text[a - 2 : a])) and not (
        a > 1 and text[a - 1] == "科" and "\u4e00" <= text[a - 2] <= "\u9fff")  # "内分泌科|林雨萱", not 科林


def _clear_of_words(text: str, a: int, b: int) -> bool:
    """text[a:b] neither ends a word that starts before it nor starts one that runs past it ("关节" of 左膝关节,
    "主任" of 许晴主任)."""
    return not ends_a_word(text, a) and not (b < len(text) and dictionary_word(text[b - 1 : b + 1]))


# what ends a chemical's name: a reading right before one is the chemical's start (石杉|碱甲, 马来|酸), not a person
CHEM_NEXT = frozenset("碱酸胺酮酯醇霉肽嗪唑苷烷烯酚醛铵脲啶嘌噻吩喹啉")
# for repeated readings: characters of things (乌鸡白凤丸, 桂圆干, 康胶囊, chemicals) and question particles (石榴吗),
# not names; and what ends a place name (张百湾镇, 于承德市)
_THING = set("痫癫胶囊丸膏汤散粉霜干菌毒疹疮斑氏宫枕吡咯菲斯曲替吗呢吧么啊呀就能会") | CHEM_NEXT
_PLACE_END = set("村镇乡县市区省州岛湾庄屯港路街")
# characters of transliterated drug names (阿莫西林, 孟鲁司特, 佐米曲普坦, 莫沙必利) that Chinese given names do not use
_TRANSLIT = set("必坦罗司特沙西米尔斯克拉诺伐汀唑卡洛芬泮嗪吡咯替塞帕菲妥昔抗普奈索亚格兹达") - COMMON_GIVEN


def word_cuts(text: str) -> dict[int, tuple[int, str]]:
    """jieba's dictionary segmentation of `text` (no guessing of unknown words, so a name falls apart into
    characters): start -> (end, word) of each word of two or more characters."""
    import jieba

    return {a: (b, w) for w, a, b in jieba.tokenize(text, HMM=False) if b - a > 1}


@functools.lru_cache(maxsize=4)
def note_cuts(text: str) -> dict[int, tuple[int, str]]:
    """`word_cuts` of a whole note, kept while the finders of one note segment it again (callers only read it);
    a few notes only, so that a benchmark that repeats a set segments every note each time."""
    return word_cuts(text)


def crosses_words(cuts: dict[int, tuple[int, str]], a: int, b: int) -> bool:
    """A word of the segmentation runs across either end of text[a:b] (输尿|管走形, 子|宫收缩, 查明病|因), or the
    surname with the first given character is itself a common word (寿命能, 严格按)."""
    for s, (e, w) in cuts.items():
        # a word made of a name's edge and a particle next to it does not count (经|查磊, 何建|明说, 沈国|安会)
        if s < a < e and not (s == a - 1 and e == a + 1 and w[0] in _BEFORE_NAME):
            return True
        # but a verb whose first character is no given-name character stays a word (李梅|陪同, not 李梅陪|同)
        if s < b < e and not (s == b - 1 and e == b + 1 and w[1] in _AFTER_NAME and w[0] in COMMON_GIVEN):
            return True
    first = cuts.get(a)
    return bool(first and first[0] == a + 2 and b > a + 2 and dictionary_word(first[1])
                and first[1][1] not in COMMON_GIVEN and surname_len(first[1], 0) < 2)


# particles that jieba joins to a name's first or last character: 经查 (经查磊), 明说 (何建明说), 安会 (沈国安会)
_BEFORE_NAME = set("经由被把给向对跟和与同请让叫找等及")
_AFTER_NAME = set("说的和与在是也都就还已被把给向对跟同及等会要")


def _between_words(text: str, cuts: dict[int, tuple[int, str]], a: int, b: int) -> bool:
    """A repeated reading at `a` is a name there: no word crosses it, its given name is no thing, no dose follows."""
    if crosses_words(cuts, a, b):
        return False
    given = cuts.get(b - 2)
    # a given name that is one word is a name word (建国 ns, 和平 nz, 国庆 t, 红旗 nr), not a thing (子宫, 食管, 代谢)
    if given and given[0] == b and b - a == 3 and not _dictionary_tags().get(given[1], "").startswith(("nr", "ns", "nz", "t")):
        return False
    return not text[b : b + 1].isdigit()  # "安素泰240mg": a drug before its dose


def _repeated_names(text: str) -> list[tuple[int, int, str]]:
    """A surname with two given characters (or a compound surname with one or two) that recurs in the note and
    stands clear of the words around it at two or more places is a person ("黄卫红和邻居把黄宗耀送来…黄卫红同意"):
    clinical words recur too, but the dictionary, the clinical lists and the word-boundary test take them out.
    Two-character readings are left to the cues: 高原, 江海 recur as words as often as names."""
    places: dict[str, list[int]] = {}
    for i in range(len(text) - 2):
        if i and text[i - 1 : i + 1] in SURNAMES_2:
            continue  # the second character of a compound surname
        sl = surname_len(text, i, True)
        for g in ((1, 2) if sl == 2 else (2,) if sl == 1 else ()):
            cand = text[i : i + sl + g]
            given = cand[sl:]
            after = text[i + sl + g : i + sl + g + 1]
            if (len(given) != g or not all(_is_han(c) for c in given) or not _given_ok(given) or given[-1] in _TRAIL_BAD
                    or any(c in _THING or c in _TRANSLIT for c in given)
                    or (after and (after in _PLACE_END or after in _THING))):
                continue
            if sl == 1 and (cand[0] in _FUNCTION_SURNAMES or cand[0] in "查左右") and not all(c in COMMON_GIVEN for c in given):
                continue  # "和黄宗耀", "左膝关": a preposition or a side, not a surname
            if not_a_name(cand) or text.startswith(_NOT_NAME_PREFIXES, i) or clinical_term_at(text, i):
                continue
            if text.startswith(KIN_WORDS, i):
                continue  # "祖母袁圆诉…陪诊：祖母袁圆": the kin word, then the name its cue reads
            if _clear_of_words(text, i, i + sl + g):
                places.setdefault(cand, []).append(i)
    places = {c: at for c, at in places.items() if len(at) >= 2}
    if places:
        cuts = note_cuts(text)
        places = {c: kept for c, at in places.items()
                  if len(kept := [i for i in at if _between_words(text, cuts, i, i + len(c))]) >= 2}
    out: list[tuple[int, int, str]] = []
    taken: set[int] = set()
    for cand, at in sorted(places.items(), key=lambda kv: (kv[1][0], -len(kv[0]))):
        if len(at) < 2 or any(k in taken for i in at for k in range(i, i + len(cand))):
            continue  # once; and not 文斌说 inside 史文斌说, nor 阳振宇 inside 欧阳振宇
        for i in at:
            out.append((i, i + len(cand), ""))
            taken.update(range(i, i + len(cand)))
    return out


_TABLE_HEADS = ("姓名", "患者", "病人", "医生", "医师", "护士", "签名", "签字", "执行", "记录", "操作", "家属", "联系人",
                "主管", "责任", "核对", "报告人", "接收", "审核", "评估", "经治", "主治", "护理", "陪护", "接诊")
# a heading that ends in a person suffix (经办人, 采样者, 药师, 筛查员) or a surgical role
_TABLE_HEAD_ENDS = ("人", "者", "师", "员", "主刀", "一助", "二助")


def table_cells(text: str, is_head: Callable[[str], bool]) -> Iterator[tuple[int, str]]:
    """(offset, cell) of every cell below a header cell that `is_head` accepts, in tables drawn with "|" or tabs;
    a header row is one with such a cell and no cell that reads as a name."""
    for _, k, c in column_cells(text, is_head):
        yield k, c


def column_cells(text: str, is_head: Callable[[str], bool]) -> Iterator[tuple[tuple[int, int], int, str]]:
    """`table_cells` with each cell's column: (offset of its header row, column number)."""
    cols: set[int] = set()
    head_at = 0
    sep = ""
    pos = 0
    for line in text.split("\n"):
        start, pos = pos, pos + len(line) + 1
        s = "|" if line.count("|") >= 2 else "\t" if "\t" in line else ""
        if not s or (sep and s != sep):
            cols, sep = set(), ""
            continue
        cells, k = [], start
        for c in line.split(s):
            cells.append((k, c))
            k += len(c) + 1
        if cells and not cells[0][1].strip() and line.lstrip().startswith(s):
            cells = cells[1:]  # "| a | b |" and "a | b" number their columns alike
        heads = {i for i, (_, c) in enumerate(cells) if len(c.strip()) <= 8 and is_head(c.strip())}
        if heads and not any(read_name(c.strip(), 0) for _, c in cells if c.strip()):
            cols, sep, head_at = heads, s, start
            continue
        yield from (((head_at, i), *cells[i]) for i in sorted(cols) if i < len(cells))


def _person_head(h: str) -> bool:
    return any(w in h for w in _TABLE_HEADS) or h.endswith(_TABLE_HEAD_ENDS)


def person_cells(text: str) -> Iterator[tuple[int, str]]:
    """(offset, entry) of each entry in the cells of a column headed by a person field; a cell may list several."""
    for k, c in table_cells(text, _person_head):
        for m in re.finditer(r"[^、/，,；;\s]+", c):
            yield k + m.start(), m.group(0)


# what a person column says when no one is named there
_PERSON_WORDS_IN_CELLS = frozenset(("本人", "家属", "同上", "无", "未签", "拒签", "代签"))


def _table_names(text: str) -> list[tuple[int, int, str]]:
    """Names in the cells of a table column headed by a person field ("| 床号 | 姓名 | 主管医生 |" above
    "| 3 | 韩宝山 | 吴春生 |"); a cell may list several ("许诺、田野")."""
    def name_shaped(cand: str) -> bool:
        sl = surname_len(cand, 0, True)
        return bool(sl) and 2 <= len(cand) <= sl + 2 and all(_is_han(x) for x in cand) and _given_ok(cand[sl:])

    out = [(a, a + len(cand), "") for a, cand in person_cells(text) if name_shaped(cand) and not not_a_name(cand)]
    # in a person column that holds a name elsewhere, a name-shaped cell that is also a word is a name too (郝楠 above,
    # 舒适 below, both under 记录); not a clinical term
    cells = [(col, k + len(c) - len(c.lstrip()), c.strip()) for col, k, c in column_cells(text, _person_head)]
    found = {a for a, *_ in out}
    named = {col for col, a, _ in cells if a in found}
    out += [(a, a + len(cand), "") for col, a, cand in cells
            if col in named and name_shaped(cand) and cand not in NOT_NAMES_CLINICAL
            and cand not in _PERSON_WORDS_IN_CELLS and not clinical_term_at(text, a)]
    # under a 姓名 heading a cell is a name even when it is also a word (a patient named 白芷, 甘草)
    for a, c in table_cells(text, lambda h: h.endswith("姓名")):
        if name_shaped(cand := c.strip()):
            a += len(c) - len(c.lstrip())
            out.append((a, a + len(cand), ""))
    return out


def _header_names(text: str) -> list[tuple[int, int, str]]:
    out = []
    for m in _SEX_AGE.finditer(text):
        cand = m.group(1)
        if cand.startswith(("患者", "病人", "患儿")) or not_a_name(cand):
            continue
        if cand in ("性别", "年龄", "本人", "老人", "小孩", "孩子", "产妇", "孕妇", "新生儿"):
            continue
        sl = surname_len(cand, 0, True)
        if not sl or not plausible_given(cand[sl:]):  # "肌腱炎、男性", "高血钾、男性": a finding, not a name
            continue
        if any(c in "男女性岁年龄" for c in cand) or cand.endswith(("人", "者", "儿")):
            continue  # "中年女性，52岁", "老年男性，61岁"
        out.append((m.start(1), m.end(1), PATIENT))
    for m in _BED.finditer(text):
        n = read_name(text, m.end(), rare=True)
        if n:
            out.append((m.end(), m.end() + n, PATIENT))
    return out


def _signature_names(text: str) -> list[tuple[int, int, str]]:
    """A line that holds only a name, optionally followed by a date ("刘洋", "刘洋　2023-03-05", "刘洋/2023-03-05")."""
    out = []
    pos = 0
    for ln, line in enumerate(text.split("\n")):
        start = pos
        pos += len(line) + 1
        if ln == 0:
            continue  # the first line is a title
        body = line.strip(" \t\u3000")
        if not 2 <= len(body) or not _is_han(body[0]):
            continue
        j = 0
        while j < len(body) and _is_han(body[j]):
            j += 1
        cand, rest = body[:j], body[j:]
        if not 2 <= len(cand) <= 4 or (rest and not _DATEISH.fullmatch(rest.lstrip("/／"))):
            continue
        sl = surname_len(cand, 0, True)
        if not sl or len(cand) - sl > 2 or len(cand) - sl < 1 or not _given_ok(cand[sl:]) or not_a_name(cand):
            continue
        s = start + line.index(cand)
        out.append((s, s + len(cand), CLINICIAN))
    return out


def find_role_names(text: str) -> list[tuple[int, int, str]]:
    return (_cue_names(text) + _titled_names(text) + _paren_names(text) + _role_paren_names(text)
            + _anaesthetist_paren_names(text) + _salutation_names(text) + _speaker_names(text)
            + _header_names(text) + _signature_names(text)
            + _kin_after_names(text) + _line_start_names(text) + _label_names(text) + _activity_lists(text)
            + _object_names(text) + _suffix_role_names(text) + _clause_subject_names(text) + _department_names(text)
            + _titled_listed_words(text)
            + _free_names(text) + _repeated_names(text) + _table_names(text))


def extend_lists(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Names listed beside a found name ("张三、李四", "王强和李娜", "刘洋/陈静") are names of the same role."""
    taken = bytearray(len(text) + 1)
    for s, e, _ in spans:
        taken[s:e] = b"\x01" * (e - s)
    out = list(spans)
    todo = list(spans)
    while todo:
        s, e, role = todo.pop()
        nxt = []
        if text[e : e + 1] in ("、", "/", "／") or text[e : e + 1] in ("和", "及", "与"):
            n = read_name(text, e + 1, rare=True)
            if n:
                nxt.append((e + 1, e + 1 + n))
        if s > 0 and text[s - 1] in ("、", "/", "／"):
            b = name_ending_at(text, s - 1, rare=True)
            if b >= 0:
                nxt.append((b, s - 1))
        for a, b in nxt:
            if not any(taken[a:b]):
                taken[a:b] = b"\x01" * (b - a)
                out.append((a, b, role))
                todo.append((a, b, role))
    return out
