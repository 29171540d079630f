"""Person names from their roles (issue #16): kin words, clinical roles and titles before or after a name,
form labels, names in parentheses-apposition and in lists, compound and rare surnames, sex/age headers,
bed numbers and signature lines. Each finder returns `(start, end, role)` with role one of PATIENT,
RELATIVE, CLINICIAN or "" (unknown); `deid.find_phi` merges them with its other detectors and then
replaces every other occurrence of each name string in the document."""

from __future__ import annotations

import re

from medgo.data.deid_lexicon import (
    CLINICIAN_ROLES,
    FOLLOW_WORDS,
    KIN_WORDS,
    NAME_FOLLOW,
    NAME_STOP,
    NOT_NAMES,
    NOT_NAMES_ROLE,
    PATIENT_CUES,
    SURNAMES_1,
    SURNAMES_2,
    SURNAMES_2_RARE,
    SURNAMES_RARE,
    TITLES_AFTER,
)

PATIENT, RELATIVE, CLINICIAN = "PATIENT", "RELATIVE", "CLINICIAN"
_H = "\u4e00-\u9fff"

# Characters that do not end a two-character given name in running text ("张磊陪同" is 张磊 + 陪同).
_TRAIL_BAD = set("陪表要询带独随亦也均既未诉说称告知请拒看探送接回返再又仍还签的了和与及等为是系经因于在自述以入出无有今昨现曾已来去将对被向")
# Characters that are never part of a given name here: they belong to places, units and clinical words.
_GIVEN_BAD = set(
    "我你他她其院科室病症痛炎癌瘤术药片针剂次天年日周时分秒岁前后中内外上下左右床号处型性度级期区县市省"
    "路街村镇楼栋层号码电话机血尿便痰液压糖脂肝肾肺心胃肠脑骨皮肤眼耳鼻喉舌口腔腹胸背腰腿足手头颈部"
    "查检诊治疗疾患医护士师员者人及并或且某两位名个咳喘闷热吐泻晕肿胀痒疼报拒"
)
_FUNCTION_SURNAMES = set("向和与给找请问跟被让由叫是为于时后前告知诉对把将在从当经以及并或如常应需可要才再即则且又也都就还更最很至到按凭据随同替靠")


def _alt(words: tuple[str, ...] | set[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


_ROLE_OF: dict[str, str] = {}
for _w in CLINICIAN_ROLES:
    _ROLE_OF[_w] = CLINICIAN
for _w in KIN_WORDS:
    _ROLE_OF[_w] = RELATIVE
for _w in PATIENT_CUES:
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
    if one in SURNAMES_1 or (rare and one in SURNAMES_RARE):
        return 1
    return 0


def _is_han(c: str) -> bool:
    return "\u4e00" <= c <= "\u9fff"


def not_a_name(cand: str) -> bool:
    if cand in NOT_NAMES or cand in NOT_NAMES_ROLE:
        return True
    return any(w[0] == cand[0] and (cand.startswith(w) or w.startswith(cand)) for w in NOT_NAMES)


def plausible_given(given: str) -> bool:
    return not any(c in _GIVEN_BAD for c in given)


def _given_ok(given: str) -> bool:
    return bool(given) and given[0] not in NAME_STOP and not any(c in _GIVEN_BAD for c in given)


# Verbs and symptoms that start right after a name ("魏东查看", "王芳咳嗽"); for a three-character reading
# any character that is not a name character ends it ("蒋文涛查房", "卞金凤咳嗽").
_VERB_NEXT = set("查报咳喘闷热吐泻晕肿胀痒疼拒诊治看说问")


def _ends_ok(text: str, j: int, long: bool = False) -> bool:
    nxt = text[j : j + 1]
    return (not nxt or not _is_han(nxt) or nxt in NAME_FOLLOW or nxt in (_GIVEN_BAD if long else _VERB_NEXT)
            or text.startswith(_FOLLOW_WORDS, j))


def read_name(text: str, i: int, rare: bool = True) -> int:
    """Length of a name starting at `i` (surname + one or two given characters) that ends where a name can
    end; 0 if none. The longer reading wins when both end well."""
    sl = surname_len(text, i, rare)
    if not sl or (text[i] in "查左右" and sl == 1):  # "患者查离子", "患者左髋部": not surnames here
        return 0
    for g in (2, 1):
        cand = text[i : i + sl + g]
        if len(cand) < sl + g or not all(_is_han(c) for c in cand):
            continue
        given = cand[sl:]
        if not _given_ok(given) or (g == 2 and given[-1] in _TRAIL_BAD):
            continue
        if not_a_name(cand) or text.startswith(tuple(NOT_NAMES), i):
            continue
        if _ends_ok(text, i + sl + g, long=g == 2):
            return sl + g
    return 0


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
        n = read_name(text, i, rare=bool(sep.strip()) or role != CLINICIAN)
        if n:
            out.append((i, i + n, role))
    return out


def _titled_names(text: str) -> list[tuple[int, int, str]]:
    out = []
    for m in _TITLE.finditer(text):
        t = m.group(0)
        s = name_ending_at(text, m.start(), rare=True)
        if s < 0:
            continue
        if text[s - 1 : s + 1] in ("主任", "主治", "副主", "责任") or text[s - 2 : s] in ("主任", "护士"):
            continue
        if len(text[s : m.start()]) == 1:
            continue
        role = "" if t in ("先生", "女士", "小姐", "阿姨", "同志", "老师", "您好") else CLINICIAN
        out.append((s, m.start(), role))
    return out


_KIN_AFTER = re.compile("(?:的|之)?(?:" + _alt(tuple(w for w in KIN_WORDS if not w.startswith(("之", "其")))) + ")")
_LINE_NEXT = {"今日", "今天", "昨日", "昨天", "昨晚", "目前", "自诉", "现在", "入院", "出院", "术后", "病情", "神志"}
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
        if (nxt[:1] == "于" and nxt[1:2].isdigit()) or nxt[:1] in ("因", "诉") or nxt in _LINE_NEXT:
            out.append((i, i + n, PATIENT))
    return out


def _paren_names(text: str) -> list[tuple[int, int, str]]:
    out = []
    for m in _PAREN.finditer(text):
        inner = m.group(1)
        r = _PAREN_ROLE.search(inner)
        if not r:
            continue
        s = name_ending_at(text, m.start(), rare=True)
        if s < 0:
            continue
        left = text[s - 1 : s]
        if left and _is_han(left) and not text[:s].endswith(tuple(_ROLE_OF)):
            continue
        if "本人" in inner:
            role = PATIENT
        elif re.search("科|主任|医师|医生|护士|教授", inner) and "患者" not in inner:
            role = CLINICIAN
        else:
            role = RELATIVE  # "（女儿）", "（配偶）", "（患者母亲）"
        out.append((s, m.start(), role))
    return out


def _header_names(text: str) -> list[tuple[int, int, str]]:
    out = []
    for m in _SEX_AGE.finditer(text):
        cand = m.group(1)
        if cand.startswith(("患者", "病人", "患儿")) or not_a_name(cand):
            continue
        if cand in ("性别", "年龄", "本人", "老人", "小孩", "孩子", "产妇", "孕妇", "新生儿"):
            continue
        if not surname_len(cand, 0, True) and len(cand) > 3:
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
    return (_cue_names(text) + _titled_names(text) + _paren_names(text) + _header_names(text) + _signature_names(text)
            + _kin_after_names(text) + _line_start_names(text))


def extend_lists(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Names listed beside a found name ("张三、李四", "王强和李娜", "刘洋/陈静") are names of the same role."""
    found = {(s, e) for s, e, _ in spans}
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
            if (a, b) not in found and not any(a < y and x < b for x, y in found):
                found.add((a, b))
                out.append((a, b, role))
                todo.append((a, b, role))
    return out
