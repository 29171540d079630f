"""Clinical words a name reading must not eat. A reading is part of a drug's name when it runs into a drug stem
(罗红|霉素, 伊立|替康) or stands beside a chemistry character (多奈|哌齐, 托烷|司琼), or when the note uses the same
word as a drug (停用甘利欣); and a user's term lists (a hospital's formulary, the entities of an annotated corpus:
`terms_from_corpus`) name words such as 施维舒 or 金水宝 that no rule can tell from a name.

A term list is UTF-8 text, one term per line (text after a tab is ignored; # starts a comment)."""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from medgo.data.deid_lexicon import CLAUSE_VERBS, CLINICIAN_ROLES, FOLLOW_WORDS, SURNAMES_1, SURNAMES_2
from medgo.errors import DataError

# Chinese renderings of INN stems: how drug names END. Two characters each, so that a name is never cut by a
# single character that may follow it ("王芳肝功能" is not 肝素). Not the openings of drug names (头孢, 格列, 碳酸):
# a name may stand right before a drug ("予王芳头孢曲松").
DRUG_STEMS = (
    "霉素", "沙星", "西林", "他汀", "普利", "沙坦", "洛尔", "地平", "唑仑", "西泮", "替丁", "拉唑", "卡因", "司琼",
    "米松", "尼松", "替尼", "单抗", "昔布", "格雷", "曲坦", "洛韦", "环素", "康唑", "硝唑", "帕胺", "沙班", "加群",
    "列汀", "列净", "鲁肽", "瑞林", "帕明", "西汀", "曲林", "米嗪", "替康", "曲塞", "他滨", "比星", "他韦", "那韦",
    "洛芬", "福韦", "卡韦", "韦林", "瑞韦", "他赛", "司特", "特罗", "莫司", "西利", "帕利", "列奈", "西坦", "培南",
    # a release form runs on from a drug's first characters in the same word (格列齐德|缓释片), and so do dosage
    # forms of two characters or more (丁桂儿|脐贴, 复方丹参|滴丸). Not one character (孙建国|发现药片, 王芳|片刻), nor
    # 口服液 / 注射液, which a name may stand before (王芳口服液体石蜡, 给王芳注射液体).
    "缓释", "控释", "肠溶", "脐贴", "贴剂", "贴膏", "滴丸", "胶囊", "颗粒", "冲剂", "软膏", "乳膏", "滴眼液", "喷雾剂",
    "气雾剂", "合剂", "糖浆", "纱布",
)
# Characters of chemistry that Chinese names do not use (none is in a jieba person-name entry that is not itself
# a chemical, nor in COMMON_GIVEN): inside a reading or right beside it, they make it part of a drug's name.
# Wider than deid_names.CHEM_NEXT (what ends a chemical after a tagger reading) but without its 酸 霉 碱 醛, which
# stand in ordinary words beside a name too (酸痛, 发霉): this set applies to every finder's readings, on both sides.
CHEM_CHARS = frozenset("哌嗪唑噻吡咪啶嘧呋喹吲酮醇酯胺肽苷酚烷烯炔羟羧酰氨巯胍脲嘌铵铂啡硫磷钠钾钙镁锌溴")
_HAN = re.compile(r"^[\u4e00-\u9fff]{2,16}$")
# Verbs whose object is a drug, never a person ("停用甘利欣", "加用施维舒"). Not 予/给予/予以/使用, which may take one
# ("给予王芳心理疏导").
DRUG_VERBS = ("服用", "口服", "加用", "停用", "改用", "换用", "续用", "联用", "合用", "外用", "静滴", "静推", "肌注", "泵入",
              "含服", "吸入", "雾化", "滴注", "注射", "自服", "顿服", "嚼服", "冲服", "加服", "试用", "选用", "应用",
              "吞服", "误服", "原用")
_STOPPED = ("停了", "停掉", "停用", "减量", "减了", "换了")
# a dose right after the word ("甘利欣150mg", "施维舒 50mg", "舒乐安定约20片", a table's next cell: "依达拉奉\t30mg")
_DOSE = re.compile(r"(?:[ \t×]|约|共|各)?\d+(?:\.\d+)?(?:mg|g|μg|ug|ml|mL|IU|U|万U|㎎|㎍|㎖|单位|片|粒|支|袋|丸|贴|喷|滴)")


# words of the body that open with a chemistry character: after a name they are what the person has
_BODY_AFTER = ("酮症", "酮体", "酸中毒", "碱中毒", "酸痛", "酸胀", "酸软")


def in_drug_name(text: str, a: int, b: int) -> bool:
    """The reading text[a:b] is part of a drug's name: a chemistry character in it, right before it or right
    after it, or a drug stem that starts inside it or right after it (罗红|霉素, 多奈|哌齐, 托烷|司琼, 罗哌|卡因)."""
    after = b + (not text.startswith(_BODY_AFTER, b))  # "谢诗琪酮症已纠正": 酮 opens the patient's ketosis
    if any(c in CHEM_CHARS for c in text[max(0, a - 1) : after]):
        return True
    return any(text.startswith(DRUG_STEMS, s) for s in range(a + 1, b + 1))


# what ends a drug's name when it is one character (银杏叶片, 金复康口服液, 华蟾素注射剂): only at the end of a list item
_FORM_END = ("片", "丸", "散", "液", "膏", "贴", "剂", "囊", "粒")
_ITEM = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]{1,16}")
_ITEM_END = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]{1,16}$")
_PAREN = re.compile(r"[（(]([^（）()\n]{1,16})[）)]")


def drug_like(item: str) -> bool:
    """A word reads as a drug's name by its shape: a chemistry character, a drug stem or a dosage form in it, a salt
    (马来酸曲美布汀, 硫酸沙丁胺醇), or a one-character dosage form at its end (银杏叶片)."""
    item = item.removesuffix("等")
    return (any(c in CHEM_CHARS for c in item) or any(st in item for st in (*DRUG_STEMS, "口服液", "注射液"))
            or "酸" in item[1:] or item.endswith(_FORM_END))


def _item_before(text: str, k: int) -> str:
    """The word (a run of up to 16 characters, Chinese letters or digits) that ends right at k ("" if none)."""
    m = _ITEM_END.search(text, max(0, k - 16), k)
    return m.group() if m else ""


def _drug_beside(text: str, i: int, j: int) -> bool:
    """text[i:j] stands where a drug's other name stands: in brackets after a drug (曲美他嗪（万爽力）), before
    brackets holding one (施慧达（左旋氨氯地平）), or before brackets and then a dose (坦索罗辛（哈乐）0.2mg); or in a
    、-list beside a drug (银杏叶片、金纳多、钙尔奇D)."""
    if text[i - 1 : i] in "（(" and i >= 2 and text[j : j + 1] in "）)":
        if drug_like(_item_before(text, i - 1)) or _DOSE.match(text, j + 1):
            return True
    m = _PAREN.match(text, j)  # the brackets hold one word (not "韩冬（韩冬备注：与钙剂间隔服用）")
    if m and _ITEM.fullmatch(m.group(1)) and (drug_like(m.group(1)) or _DOSE.match(text, m.end())):
        return True
    if text[j : j + 1] == "、" and (nxt := _ITEM.match(text, j + 1)) and drug_like(nxt.group()):
        return True
    return text[i - 1 : i] == "、" and drug_like(_item_before(text, i - 1))


_ACTS = tuple(w for w in (*FOLLOW_WORDS, *CLAUSE_VERBS) if len(w) >= 2)


def used_as_drug(text: str, word: str) -> bool:
    """Somewhere in `text`, `word` is the object of a drug verb, is followed by a dose, or stands where a drug's
    other name stands (in brackets beside a drug, in a list of drugs): a drug, not a name, wherever else it stands
    (施维舒 of "加用施维舒护胃，施维舒每日三次", 哈乐 of "坦索罗辛（哈乐）0.2mg … 与哈乐间隔4小时")."""
    i = text.find(word)
    while i >= 0:
        j = i + len(word)
        if text.endswith(CLINICIAN_ROLES, 0, i):  # "麻醉医师唐霈（丙泊酚静脉麻醉）": a person's post names this one
            i = text.find(word, i + 1)
            continue
        if text.endswith(DRUG_VERBS, 0, i) or _DOSE.match(text, j):
            return True
        if text[i - 1 : i] == "把" and text.startswith(_STOPPED, j):  # "自行把万爽力停了"
            return True
        # the word may be the first characters of a longer one (舒丽启|能 of （舒丽启能）, 华蟾|素 of 华蟾素、…), but
        # not when what follows is what a person does (湿敷（齐鲁|指导）)
        if any(_drug_beside(text, i, e) for e in range(j, j + 3) if _HAN.match(text[i:e])
               and (e == j or not text.startswith(_ACTS, j))):
            return True
        i = text.find(word, i + 1)
    return False


def _opens_with_surname(term: str) -> bool:
    return term[:1] in SURNAMES_1 or term[:2] in SURNAMES_2


def nameable(term: str) -> bool:
    """A term a name reading can eat: two characters or more, opening with a surname character."""
    return len(term) >= 2 and _opens_with_surname(term)


class TermIndex:
    """Terms by first character, longest first. Only terms that open with a surname character can be read as a
    name, so only those are kept."""

    def __init__(self, terms: Iterable[str]) -> None:
        by_first: dict[str, list[str]] = {}
        for t in {t for t in terms if nameable(t)}:
            by_first.setdefault(t[0], []).append(t)
        self._by_first = {c: tuple(sorted(ts, key=len, reverse=True)) for c, ts in by_first.items()}

    def __len__(self) -> int:
        return sum(len(ts) for ts in self._by_first.values())

    def term_at(self, text: str, i: int) -> int:
        """Length of the longest term starting at `i` (0: none)."""
        for t in self._by_first.get(text[i : i + 1], ()):
            if text.startswith(t, i):
                return len(t)
        return 0

    def cut(self, text: str, a: int, b: int) -> int:
        """Where a name reading text[a:b] really ends once terms are taken out of it: `a` (no name) when a term
        starts at `a` and is longer than the reading, or as long with three characters or more (甘利欣); the
        start of a term that begins inside the reading, two characters or more into it, and runs past it
        (王芳|华法林 read as 王芳华: `a`+2; not 李|安定 of 李安定期复查: a name keeps its two characters);
        otherwise `b`."""
        n = self.term_at(text, a)
        if n > b - a or (n == b - a and n >= 3):
            return a
        for s in range(a + 2, b):
            if self.term_at(text, s) > b - s:
                return s
        return b


def read_term_list(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            term = line.split("\t", 1)[0].strip()
            if term and not term.startswith("#"):
                yield term


@functools.cache
def load_terms(paths: tuple[str, ...]) -> TermIndex:
    """The term lists named in DeidConfig.clinical_terms, read once per process."""
    terms: list[str] = []
    for p in paths:
        path = Path(p).expanduser()
        if not path.is_file():
            raise DataError(f"{path}: clinical term list not found (DeidConfig.clinical_terms / --terms); make one "
                            "with `medgo data deid-terms` or give a text file with one term per line")
        terms += read_term_list(path)
    return TermIndex(terms)


# CMeEE entity types worth keeping: drugs, diseases, symptoms, procedures, tests, microbes, equipment, body parts.
CORPUS_TYPES = ("dru", "dis", "sym", "pro", "ite", "mic", "equ", "bod", "drug", "disease", "symptom", "treatment",
                "test", "body")


DRUG_TYPES = frozenset(("dru", "drug"))
_ALIAS_SPLIT = re.compile(r"[、，,;；/]")


def _monograph(text: str) -> Iterator[tuple[str, str]]:
    """A drug monograph ("氨肽素\n药品类型:…\n别名:利血生、…"): its title line and its aliases are drug names."""
    lines = text.split("\n")
    yield lines[0].strip(), "drug"
    for line in lines[1:]:
        if line.startswith(("别名:", "别名：", "商品名:", "商品名：")):
            for alias in _ALIAS_SPLIT.split(line.split(":", 1)[-1].split("：", 1)[-1]):
                yield alias.strip(), "drug"


def _entities(path: Path) -> Iterator[tuple[str, str]]:
    """(entity, type) of a CMeEE-style JSON file (a list of {text, entities: [{entity, type}]}), of a formulary
    (a JSON list of drug monographs: title line, then "别名:" aliases), or of JSON Lines with cMedQANER's
    {mention_data: [{mention, type}]} or {text, spans: [{start, end, type}]}."""
    raw = path.read_text(encoding="utf-8")
    try:
        rows = json.loads(raw) if raw.lstrip().startswith("[") else None
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: not valid JSON ({e}); give a CMeEE JSON list or JSON Lines") from None
    if rows is None:
        rows = []
        for n, line in enumerate(raw.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise DataError(f"{path}:{n}: not a JSON line ({e})") from None
    for row in rows:
        if isinstance(row, str):
            yield from _monograph(row)
            continue
        if not isinstance(row, dict):
            raise DataError(f"{path}: rows must be objects (CMeEE, cMedQANER) or drug monographs (strings)")
        for e in row.get("entities", []):
            yield e.get("entity", ""), e.get("type", "")
        for m in row.get("mention_data", []):
            yield m.get("mention", ""), m.get("type", "")
        for s in row.get("spans", []):
            yield row["text"][s["start"] : s["end"]], s.get("type", "")


def terms_from_corpus(paths: Iterable[Path], types: Iterable[str] = CORPUS_TYPES, min_count: int = 1,
                      is_name: Callable[[str], bool] | None = None) -> list[str]:
    """Clinical terms of annotated corpora that open with a surname character (the only ones a name reading can
    eat): all-Chinese entities of 2-16 characters of the given types, seen at least `min_count` times.
    `is_name(term)` drops entries that are person names in the dictionary (张力 is a symptom and a name), but never a
    drug: jieba's dictionary tags 潘生丁, 甘露醇 and 白蛋白 as names, and no one is called 潘生丁."""
    want = set(types)
    seen: Counter[str] = Counter()
    drugs: set[str] = set()
    for p in paths:
        for ent, typ in _entities(Path(p)):
            if typ in want and _HAN.match(ent) and _opens_with_surname(ent):
                seen[ent] += 1
                if typ in DRUG_TYPES:
                    drugs.add(ent)
    keep = [t for t, c in seen.items() if c >= min_count and (t in drugs or not (is_name and is_name(t)))]
    return sorted(keep)


# Mining a corpus for the drugs it uses. A word is a drug when the text doses it or names its dosage form, in a
# place with a boundary on both sides: after a drug verb (口服温胃舒胶囊, 加用黛力新10mg), or at the start of a
# clause, a list item or a table cell (；扶正化瘀胶囊, 、金纳多40mg). A one-character form (片 丸 贴) counts only after
# a drug verb: after a clause start it makes body parts and tests (睾丸, 涂片).
_FORMS_LONG = ("胶囊", "颗粒", "口服液", "注射液", "注射剂", "滴丸", "软膏", "乳膏", "喷雾剂", "气雾剂", "滴眼液", "冲剂",
               "糖浆", "合剂", "缓释片", "肠溶片", "分散片", "泡腾片", "咀嚼片", "脐贴", "贴膏")
_FORM_ALT = "|".join(sorted(_FORMS_LONG, key=len, reverse=True))
_VERB_ALT = "|".join(sorted((*DRUG_VERBS, "吃了", "服了", "开了"), key=len, reverse=True))
_MINE_AFTER_VERB = re.compile(rf"(?:{_VERB_ALT})([\u4e00-\u9fff]{{2,6}}?)(?={_FORM_ALT}|[片丸贴](?![\u4e00-\u9fff])|{_DOSE.pattern})")
_MINE_AT_START = re.compile(rf"(?:^|(?<=[，,。；;、：:（(\t\n ]))([\u4e00-\u9fff]{{2,6}}?)(?={_FORM_ALT}|{_DOSE.pattern})")
# characters of grammar, and openings of ordinary phrases: a candidate holding one is a phrase, not a drug
_MINE_NOT = frozenset("的了和于及与或时等每次个是在有为就还也都要把被可能该吃用服")
_MINE_OPEN = ("包括", "应用", "应该", "成人", "单剂", "单吃", "查", "加", "另", "再", "先", "后", "共", "各", "每")


def drugs_in_text(text: str) -> Iterator[str]:
    """The words `text` uses as drugs (see above), those a name reading could eat (nameable) only."""
    for pat in (_MINE_AFTER_VERB, _MINE_AT_START):
        for m in pat.finditer(text):
            w = m.group(1)
            if nameable(w) and not _MINE_NOT & set(w) and not w.startswith(_MINE_OPEN):
                yield w


def mine_drugs(texts: Iterable[str], min_docs: int = 2, is_name: Callable[[str], bool] | None = None) -> list[str]:
    """The words a corpus uses as drugs in at least `min_docs` of its texts (a hospital's own notes hold its
    formulary as it is written: brand names, patent medicines, abbreviations), less the dictionary's person
    names (`is_name`)."""
    docs: Counter[str] = Counter()
    for text in texts:
        docs.update(set(drugs_in_text(text)))
    return sorted(w for w, n in docs.items() if n >= min_docs and not (is_name and is_name(w)))
