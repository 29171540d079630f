"""Training the learned name detector (`deid_tagger`) on the user's own text.

The training set is real record text, read from any files (TXT lines, JSON / JSON Lines string fields,
folders of them), where the text refers to a person by role: "患者突然坐起" becomes "王建国突然坐起" or
"患者王建国突然坐起", "请医生会诊" becomes "请李敏医生会诊", "其母陪护" becomes "其母刘秀英陪护"; the same
person keeps one name through a document. Names already in the text, as the rules find them, are labelled
too (silver labels), and the generator's notes (`synth_phi`) are mixed in. So the tagger learns the
contexts in which real notes name people from real text, not from the project's own phrasings.

    medgo data deid-train --corpus notes.jsonl --corpus more/ --out tagger/ [--steps 1500]

About 15 minutes on 2 CPU cores for the default recipe (see benchmarks/data/README.md for what it buys)."""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from medgo.data.deid_lexicon import (
    COMMON_GIVEN,
    NAME_STOP,
    SURNAMES_1,
    SURNAMES_2,
    SURNAMES_2_DISTINCT,
    SURNAMES_2_RARE,
    SURNAMES_RARE,
    SURNAMES_TOP,
)
from medgo.data.deid_names import _GIVEN_BAD, surname_len
from medgo.data.deid_tagger import FEATURES, PAD, UNK, build_model, char_features
from medgo.errors import ConfigError
from medgo.log import console


@dataclass
class TaggerTrainConfig:
    corpus: list[str] = field(default_factory=list)
    out: str = "deid-tagger"
    segments: int = 80000  # training windows drawn from the corpus
    synth_notes: int = 3000
    max_len: int = 200
    steps: int = 1500
    batch: int = 48
    lr: float = 2e-3
    dim: int = 160
    blocks: tuple[int, ...] = (1, 2, 4, 8, 1)
    attention: int = 0  # self-attention layers over the window after the convolutions (deid_tagger.build_model)
    plant: float = 0.8  # share of documents in which role words get names
    min_char_count: int = 2
    seed: int = 16
    threshold: float = 0.5
    threads: int = 0  # 0: torch's default
    members: int = 1  # networks trained with seeds seed, seed+1, ... and averaged (member1/, member2/ in `out`)
    # share of planted names whose surname is a corpus character outside the lists: 0.1 was tried (fourth
    # session) and leaked more on the spent check sets than 0 (README, "fourth round"), so it is off by default
    odd_surnames: float = 0.0
    # annotated notes (JSON Lines: "text" and "phi" or "spans" with start, end, type), learned from as they stand
    # and `labelled_copies - 1` more times with every name replaced by a sampled one (the contexts, not the names)
    labelled: list[str] = field(default_factory=list)
    labelled_copies: int = 4
    # clinical terms that open with a surname character (罗通定, 杜冷丁, 苏子降气汤: a formulary, `medgo data deid-terms`
    # lists, or annotated corpora read by deid_terms.terms_from_corpus), planted as not-names into `term_share` of the
    # windows, in the places a name stands too ("予罗通定", "舒乐安定2片", "、杜冷丁、"), so that the tagger learns the
    # words rather than only the contexts: the fifth tagger ate such brand names (benchmarks/data/README.md, round 7)
    negatives: list[str] = field(default_factory=list)
    term_share: float = 0.3


_HAN = re.compile(r"[\u4e00-\u9fff]")
_SENT_END = re.compile(r"(?<=[。！？；!?;\n])")
_PATIENT = re.compile(r"患者|病人|患儿|病员|伤者|产妇|孕妇|老人")
_CLINICIAN = re.compile(r"主治医师|住院医师|主治医生|护士长|医生|医师|大夫|主任|护士|教授|药师")
_KIN = re.compile(r"家属|其母|其父|其子|其女|其妻|其夫|母亲|父亲|丈夫|妻子|儿子|女儿|爱人|老伴|孙子|孙女")
# He / she: a name stands in a pronoun's place in any clause ("他说…" -> "黄卫红说…", "把她送来" -> "把周美华送来"),
# which gives the tagger the bare-name contexts role words alone do not (not 其他, 吉他, 他们, 他人, 利他林, 他汀...)
_PRONOUN = re.compile(r"(?<![其吉利排])[他她](?![们人汀克巴莫扎])")
# Given-name characters beyond COMMON_GIVEN (卫红, 宗耀, 梓涵, 思琪…), for sampling only: planted names drawn from
# COMMON_GIVEN alone taught the tagger those characters rather than the places names stand in.
GIVEN_WIDE = sorted(set(
    "卫耀梓墨沐芊诺依可若语昕晗奕铭锐熙泓澄宸瀚霖铮钦湘汐沁潇珂玥珺淳桐棠柏杉槿楷岳峻崇嵩巍仕传继守孝礼仲尚显"
    "晖暄曦昱晋景智敏勋励劲卓立远道义祥福禄寿隆昌荣富珍凤鹤莺鹃莲菊禾苗芹芷芮茵荟萌蕾蕙蔓萧霏霓露岚彤朝援革跃"
    "拥胜解放延益久恒常宪章夏中西南北东方正直忠和顺吉乐声音韵诗书画琴棋扬彰炳焕烨熠炯煌晔旭昶晏昀晞曙旻杲晟皎"
    "朔玄苍碧绿青紫赤朱彬子儿姝姣嫣妍婧璇瑛瑾璞璟璨玺珏珑珞钰铃镇鉴鹭鸥鸾麟骐骥彪虎豹熊鹰谐畅朴淳诚孝悌贤哲念"
    "怀恩泽润沛溢满盈饶裕余"
) - COMMON_GIVEN)


def iter_texts(path: str | Path) -> Iterator[str]:
    """Every string worth reading in a file or folder: TXT lines, and the string values (any depth) of JSON
    and JSON Lines records that hold Chinese text."""
    p = Path(path)
    if p.is_dir():
        for f in sorted(p.rglob("*")):
            if f.is_file() and f.suffix in (".txt", ".json", ".jsonl", ".utf8"):
                yield from iter_texts(f)
        return

    def strings(v: Any) -> Iterator[str]:
        if isinstance(v, str):
            if len(v) >= 8 and _HAN.search(v):
                yield v
        elif isinstance(v, dict):
            for x in v.values():
                yield from strings(x)
        elif isinstance(v, list):
            for x in v:
                yield from strings(x)

    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("gb18030", errors="replace")
    if p.suffix in (".json", ".jsonl"):
        try:
            yield from strings(json.loads(text))
            return
        except json.JSONDecodeError:
            pass
        for line in text.splitlines():
            try:
                yield from strings(json.loads(line))
            except json.JSONDecodeError:
                yield from strings(line)
        return
    for line in text.splitlines():
        yield from strings(line.strip())


def segments(text: str, max_len: int) -> Iterator[str]:
    """Sentence-aligned windows of at most `max_len` characters."""
    buf = ""
    for s in _SENT_END.split(text):
        while len(s) > max_len:
            if buf:
                yield buf
                buf = ""
            yield s[:max_len]
            s = s[max_len:]
        if len(buf) + len(s) > max_len:
            if buf.strip():
                yield buf
            buf = ""
        buf += s
    if buf.strip():
        yield buf


class NameSampler:
    """Chinese names: frequent surnames weighted by rank, some rare and compound ones; one or two given-name
    characters, mostly frequent given-name characters, sometimes any character seen in the corpus."""

    def __init__(self, r: random.Random, corpus_chars: list[str], corpus_words: list[str] | None = None,
                 odd: float = 0.0) -> None:
        self.r = r
        # surnames outside the lists (门, 那, 冬, 可 ...): any corpus character that is not clinical, so that the
        # tagger learns the places names stand in rather than the surname list alone
        known = SURNAMES_1 | SURNAMES_RARE | {c for s in SURNAMES_2 | SURNAMES_2_RARE for c in s}
        not_surnames = _GIVEN_BAD | NAME_STOP | set("的了是也就不没很我你他她它们这哪么吗呢吧啊呀哦嗯")
        self.odd_pool = [c for c in corpus_chars if c not in known and c not in not_surnames] or sorted(SURNAMES_TOP)
        self.odd = odd
        self.top = sorted(SURNAMES_TOP)
        self.weights = [1.0 / (10 + i) for i in range(len(self.top))]
        r.shuffle(self.weights)  # set order is not frequency order: spread the weight without a rank bias
        self.rare = sorted((SURNAMES_RARE | SURNAMES_1) - SURNAMES_TOP)
        self.compound = sorted(SURNAMES_2_DISTINCT | SURNAMES_2_RARE | SURNAMES_2)
        self.given = sorted(COMMON_GIVEN)
        self.wide = GIVEN_WIDE
        self.any = corpus_chars or self.given
        self.words = corpus_words or []  # ordinary two-character words as given names (江海, 田野, 天明)

    def surname(self) -> str:
        if self.odd and self.r.random() < self.odd:
            return self.r.choice(self.odd_pool)
        x = self.r.random()
        if x < 0.06:
            return self.r.choice(self.compound)
        if x < 0.22:
            return self.r.choice(self.rare)
        return self.r.choices(self.top, self.weights)[0]

    def _pool(self) -> list[str]:
        x = self.r.random()
        return self.any if x < 0.15 else self.wide if x < 0.4 else self.given

    def __call__(self) -> str:
        if self.words and self.r.random() < 0.1:
            return self.surname() + self.r.choice(self.words)
        given = "".join(self.r.choice(self._pool()) for _ in range(1 if self.r.random() < 0.2 else 2))
        return self.surname() + given


def plant_names(text: str, sample: NameSampler, r: random.Random) -> tuple[str, list[tuple[int, int]]]:
    """`text` with names planted at role words, and the planted spans."""
    people: dict[str, list[str]] = {"P": [sample()], "D": [sample() for _ in range(3)], "K": [sample() for _ in range(2)]}
    out, spans, pos = "", [], 0
    pattern = re.compile(f"(?P<P>{_PATIENT.pattern})|(?P<D>{_CLINICIAN.pattern})|(?P<K>{_KIN.pattern})"
                         f"|(?P<H>{_PRONOUN.pattern})")
    for m in pattern.finditer(text):
        kind = m.lastgroup or "P"
        x = r.random()
        if kind == "H":  # the pronoun's person: mostly the patient
            kind, x = ("P" if r.random() < 0.6 else "K"), (0.0 if x < 0.75 else 1.0)
        name = people[kind][0] if kind == "P" or r.random() < 0.6 else r.choice(people[kind])
        word = m.group(0)
        out += text[pos : m.start()]
        pos = m.end()
        # "name": the name stands alone where the role word stood ("通知医生" -> "通知冯刚"), the hard case
        if kind == "P":
            form = "name" if x < 0.6 else "word+name" if x < 0.82 else "keep"
        elif kind == "D":
            form = "name" if x < 0.3 else "name+word" if x < 0.55 else "word+name" if x < 0.8 else "keep"
        else:
            form = "name" if x < 0.2 else "word+name" if x < 0.6 else "name(word)" if x < 0.68 else "keep"
        if form == "keep":
            out += word
            continue
        if form.startswith("word"):
            out += word
        a = len(out)
        out += name
        spans.append((a, len(out)))
        if kind != "P" and r.random() < 0.15:  # people named side by side ("许晴、周立波两位医师", "由王芳和李强")
            out += r.choice(["、", "、", "和", "与", "，", "及"])
            a = len(out)
            out += r.choice([n for ns in people.values() for n in ns if n != name] or [sample()])
            spans.append((a, len(out)))
        if form == "name+word":
            out += word
        elif form == "name(word)":
            out += r.choice(["（", "("]) + word + r.choice(["）", ")"])
    return out + text[pos:], spans


# where a planted clinical term stands: most of these places take a name as well ("予王芳", "王芳、李强", a table cell);
# before a dose twice, the commonest place
_TERM_PLACES = ("予{t}", "给予{t}", "加{t}", "改{t}", "换用{t}", "吃了{t}", "用{t}", "原用{t}", "自服{t}", "{t}{dose}",
                "{t}{dose}", "{t}、{u}", "{u}、{t}", "{t}，", "\t{t}\t", "{t}每日{k}次", "{t}治疗", "{t}后", "诊断：{t}",
                "既往{t}", "{t}（{u}）")
_TERM_DOSES = ("10mg", "0.5g", "1片", "2粒", "5ml", "20mg", "100U", " 50mg", "1支", "1贴", "约20片", "×20片", "1袋")
_TERM_AT = re.compile(r"(?<=[。，；：、\n\t])|^")


def _check_negatives(paths: Iterable[str]) -> None:
    for p in paths:
        if not Path(p).is_file():
            raise ConfigError(f"deid-train --negatives {p}: no such file (a term list, one per line, or a CMeEE / "
                              "cMedQANER / formulary JSON file)")


def read_negatives(paths: Iterable[str]) -> list[str]:
    """The surname-opening terms of term lists (one per line, `.txt`) and annotated corpora (anything else, read by
    deid_terms.terms_from_corpus). No dictionary filter: jieba tags 杜冷丁, 甘露醇 and 白蛋白 as person names."""
    from medgo.data.deid_terms import nameable, read_term_list, terms_from_corpus

    paths = list(paths)
    _check_negatives(paths)
    terms: set[str] = set()
    for p in paths:
        path = Path(p)
        if path.suffix == ".txt":
            terms.update(t for t in read_term_list(path) if nameable(t))
        else:
            terms.update(terms_from_corpus([path]))
    return sorted(terms)


def plant_terms(text: str, spans: list[tuple[int, int]], terms: list[str], r: random.Random,
                ) -> tuple[str, list[tuple[int, int]], list[tuple[int, int]]]:
    """`text` with one or two clinical terms inserted, in a place a name might stand, at clause boundaries
    outside the name spans: the new text, the shifted name spans, and where the inserted pieces stand."""
    inside = {k for a, b in spans for k in range(a + 1, b)}
    cuts = [m.start() for m in _TERM_AT.finditer(text) if m.start() not in inside]
    pieces: list[tuple[int, int]] = []
    for at in sorted(r.sample(cuts, min(len(cuts), r.randint(1, 2))), reverse=True):
        place = r.choice(_TERM_PLACES)
        piece = place.format(t=r.choice(terms), u=r.choice(terms), dose=r.choice(_TERM_DOSES), k=r.randint(1, 3))
        if at < len(text) and piece[-1] not in "，\t":
            piece += r.choice("，，。；")  # a clause of its own, not run into the next word
        text = text[:at] + piece + text[at:]
        n = len(piece)
        spans = [(a + n, b + n) if a >= at else (a, b) for a, b in spans]
        pieces = [(at, at + n)] + [(a + n, b + n) for a, b in pieces]
    return text, spans, pieces


# span types of annotated notes that are names (the check sets' PATIENT / RELATIVE / CLINICIAN, the generator's NAME)
NAME_TYPES = ("NAME", "PATIENT", "RELATIVE", "CLINICIAN")


def read_labelled(path: str | Path) -> tuple[list[tuple[str, list[tuple[int, int]]]], list[str]]:
    """Annotated notes of a JSON Lines file: (text, name spans) per usable row, and `file:line: reason` for each
    row left out (not JSON, no text, a span outside the text or overlapping another)."""
    notes, skipped = [], []
    with open(path, encoding="utf-8") as f:
        for k, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text = row["text"]
                if not isinstance(text, str):
                    raise TypeError("text is not a string")
                raw = row.get("phi", row.get("spans", []))
                spans = sorted((int(s["start"]), int(s["end"])) for s in raw if s.get("type") in NAME_TYPES)
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
                skipped.append(f"{path}:{k}: not a note with text and spans ({type(e).__name__}: {e})")
                continue
            bad = [(a, b) for a, b in spans if not 0 <= a < b <= len(text)]
            bad += [y for x, y in zip(spans, spans[1:], strict=False) if y[0] < x[1]]
            if bad:
                skipped.append(f"{path}:{k}: name span {bad[0]} outside the text or overlapping another")
                continue
            notes.append((text, spans))
    return notes, skipped


def _surname_part(name: str) -> int:
    """Length of a name's surname: a listed one (欧阳, 王), else its first character, never the whole name."""
    return max(1, min(surname_len(name, 0) or 1, len(name) - 1))


def rename(text: str, spans: list[tuple[int, int]], sample: NameSampler) -> tuple[str, list[tuple[int, int]]]:
    """`text` with every name span replaced by a sampled name: one new name per old one, and one new surname per
    old surname (a relative who shares the patient's surname still does)."""
    names: dict[str, str] = {}
    surnames: dict[str, str] = {}
    out, new, pos = "", [], 0
    for a, b in spans:
        old = text[a:b]
        if old not in names:
            fresh = sample()
            own = fresh[: _surname_part(fresh)]
            names[old] = surnames.setdefault(old[: _surname_part(old)], own) + fresh[len(own) :]
        out += text[pos:a]
        new.append((len(out), len(out) + len(names[old])))
        out += names[old]
        pos = b
    return out + text[pos:], new


def windows_of(text: str, spans: list[tuple[int, int]], max_len: int) -> Iterator[tuple[str, list[int]]]:
    """Sentence-aligned windows of an annotated note with their B/I/O labels (a name cut by a window's edge is
    left unlabelled there rather than half-labelled)."""
    y = _labels(len(text), spans)
    pos = 0
    for w in segments(text, max_len):
        a = text.find(w, pos)
        pos = a + len(w)
        labels = y[a:pos]
        k = 0
        while k < len(labels) and labels[k] == 2:  # the tail of a name that began in the window before
            labels[k] = 0
            k += 1
        if pos < len(text) and y[pos] == 2:  # the head of a name that runs on into the next window
            k = len(labels) - 1
            while k >= 0 and labels[k] == 2:
                labels[k] = 0
                k -= 1
            if k >= 0:
                labels[k] = 0
        yield w, labels


def _labels(n: int, spans: Iterable[tuple[int, int]]) -> list[int]:
    y = [0] * n
    for a, b in spans:
        if a < b <= n:
            y[a] = 1
            for k in range(a + 1, b):
                y[k] = 2
    return y


def build_examples(cfg: TaggerTrainConfig) -> list[tuple[str, list[int]]]:
    """(text, B/I/O labels) windows: planted real text, silver-labelled by the rules, plus generator notes."""
    from medgo.data.deid import find_phi
    from medgo.data.synth_phi import generate_notes

    r = random.Random(cfg.seed)
    # each --corpus gets an equal share of the windows (a big dialogue set must not drown the record text)
    per_source: list[list[str]] = []
    for path in cfg.corpus:
        ws = [w for t in iter_texts(path) for w in segments(t, cfg.max_len - 20)]
        r.shuffle(ws)
        per_source.append(ws)
    share = cfg.segments // max(1, len(per_source))
    windows = [w for ws in per_source for w in ws[:share]]
    rest = [w for ws in per_source for w in ws[share:]]
    windows += rest[: max(0, cfg.segments - len(windows))]
    r.shuffle(windows)
    counts = Counter(c for w in windows[:5000] for c in w if _HAN.match(c))
    bigrams = Counter(w[k : k + 2] for w in windows[:5000] for k in range(len(w) - 1)
                      if _HAN.match(w[k]) and _HAN.match(w[k + 1]))
    # not a word that follows a surname character in the text (血压 of 高血压, 细胞 of 白细胞): planting 高血压 as a
    # name would teach the tagger to take the disease for one
    after_surname = {w[k + 1 : k + 3] for w in windows[:20000] for k in range(len(w) - 2) if w[k] in SURNAMES_1}
    bigrams = Counter({b: k for b, k in bigrams.items() if b not in after_surname})
    sample = NameSampler(r, [c for c, k in counts.most_common(3000)], [b for b, k in bigrams.most_common(3000)],
                         odd=cfg.odd_surnames)
    negatives = read_negatives(cfg.negatives) if cfg.negatives else []
    if cfg.negatives:
        console.print(f"deid-train: {len(negatives)} surname-opening clinical terms to plant as not-names")
    out: list[tuple[str, list[int]]] = []
    for k, w in enumerate(windows):
        if r.random() < 0.35:  # names right after a line break: a short real line as a heading above
            head = windows[(k * 7919) % len(windows)][: r.randint(2, 12)].strip()
            w = (head + r.choice(["\n", "\n", "：\n", " "]) + w)[: cfg.max_len]
        text, spans = plant_names(w, sample, r) if r.random() < cfg.plant else (w, [])
        pieces: list[tuple[int, int]] = []
        if negatives and r.random() < cfg.term_share:
            text, spans, pieces = plant_terms(text, spans, negatives, r)
            text, spans = text[: cfg.max_len], [(a, b) for a, b in spans if b <= cfg.max_len]
        # the rules' readings are silver labels, except where a name or a planted term stands
        planted = {k for a, b in spans + pieces for k in range(a, b)}
        silver = [(sp.start, sp.end) for sp in find_phi(text) if sp.type == "NAME"
                  and not planted.intersection(range(sp.start, sp.end))]
        out.append((text, _labels(len(text), spans + silver)))
    for path in cfg.labelled:
        notes, skipped = read_labelled(path)
        for why in skipped[:3]:
            console.print(f"deid-train: left out {why}")
        if not notes:
            raise ConfigError(f"deid-train --labelled {path}: no usable note (JSON Lines rows with \"text\" and "
                              f"\"phi\" or \"spans\": start, end, type; {len(skipped)} rows left out)")
        console.print(f"deid-train: {path}: {len(notes)} annotated notes, {len(skipped)} left out")
        for text, spans in notes:
            for c in range(cfg.labelled_copies):
                t, sp = (text, spans) if c == 0 else rename(text, spans, sample)
                out.extend(windows_of(t, sp, cfg.max_len))
    for note in generate_notes(cfg.synth_notes, seed=cfg.seed + 1):
        names = [(s["start"], s["end"]) for s in note["spans"] if s["type"] == "NAME"]
        t = note["text"][: cfg.max_len]
        out.append((t, _labels(len(t), names)))
    r.shuffle(out)
    return out


def _vocab(examples: list[tuple[str, list[int]]], min_count: int) -> list[str]:
    """Characters seen `min_count` times, and every surname and frequent given-name character (a name's
    characters must not all read as unknown)."""
    counts = Counter(c for t, _ in examples for c in t)
    always = set(SURNAMES_1) | set(SURNAMES_RARE) | {c for s in SURNAMES_2 | SURNAMES_2_RARE for c in s} | COMMON_GIVEN
    return sorted({c for c, k in counts.items() if k >= min_count} | always)


def _span_scores(gold: list[list[int]], pred: list[list[tuple[int, int, float]]]) -> dict[str, float]:
    def spans(y: list[int]) -> set[tuple[int, int]]:
        out, i = set(), 0
        while i < len(y):
            if y[i] == 1:
                j = i + 1
                while j < len(y) and y[j] == 2:
                    j += 1
                out.add((i, j))
                i = j
            else:
                i += 1
        return out

    tp = fp = fn = 0
    for y, p in zip(gold, pred, strict=True):
        g, q = spans(y), {(a, b) for a, b, _ in p}
        tp += len(g & q)
        fp += len(q - g)
        fn += len(g - q)
    return {"precision": round(tp / max(1, tp + fp), 4), "recall": round(tp / max(1, tp + fn), 4),
            "gold_spans": tp + fn}


def train_tagger(cfg: TaggerTrainConfig) -> dict[str, Any]:
    """Train `cfg.members` networks (the first in `cfg.out`, the others in `cfg.out`/member<k>, each with its
    own seed, so its own planted names and initial weights); the loaded tagger averages them."""
    import shutil

    out = Path(cfg.out)
    for old in out.glob("member*"):  # members of an earlier, larger ensemble must not be averaged in
        if old.is_dir() and not (old.name[6:].isdigit() and 0 < int(old.name[6:]) < cfg.members):
            shutil.rmtree(old)
    meta = _train_one(replace(cfg, members=1))
    for k in range(1, cfg.members):
        console.print(f"deid-train: member {k + 1} of {cfg.members}")
        _train_one(replace(cfg, seed=cfg.seed + k, out=str(out / f"member{k}"), members=1))
    if cfg.members > 1:
        meta["members"] = cfg.members
        meta["recipe"]["members"] = cfg.members
        (out / "tagger.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    return meta


def _train_one(cfg: TaggerTrainConfig) -> dict[str, Any]:
    """Build the examples, train, pick nothing on the user's evaluation data, save to `cfg.out`."""
    import torch

    from medgo.data.deid_tagger import NameTagger

    if not cfg.corpus:
        raise ConfigError("deid-train: give at least one --corpus (record text: TXT, JSON or JSON Lines files or folders)")
    for c in cfg.corpus:
        if not Path(c).exists():
            raise ConfigError(f"deid-train --corpus {c}: no such file or folder")
    for c in cfg.labelled:
        if not Path(c).is_file():
            raise ConfigError(f"deid-train --labelled {c}: no such file (annotated notes, JSON Lines)")
    _check_negatives(cfg.negatives)  # a missing term list fails before any work
    torch.manual_seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    t0 = time.time()
    examples = build_examples(cfg)
    n_val = max(1, len(examples) // 40)
    val, train = examples[:n_val], examples[n_val:]
    chars = _vocab(train, cfg.min_char_count)
    index = {c: i + 2 for i, c in enumerate(chars)}
    console.print(f"deid-train: {len(train)} training windows, {len(val)} held out, {len(chars)} characters "
                  f"({time.time() - t0:.0f} s to build)")
    model = build_model(len(chars) + 2, cfg.dim, cfg.blocks, FEATURES, cfg.attention)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 100) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / cfg.steps))))
    r = random.Random(cfg.seed)
    order: list[int] = []
    losses: list[float] = []
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    model.train()
    with Progress(TextColumn("deid-train"), BarColumn(), MofNCompleteColumn(), TextColumn("loss {task.fields[loss]}"),
                  TimeElapsedColumn(), console=console, transient=True) as prog:
        task = prog.add_task("train", total=cfg.steps, loss="-")
        for step in range(cfg.steps):
            if len(order) < cfg.batch:
                order = list(range(len(train)))
                r.shuffle(order)
            batch = [train[order.pop()] for _ in range(cfg.batch)]
            width = max(len(t) for t, _ in batch)
            ids = torch.zeros((len(batch), width), dtype=torch.long)
            ys = torch.full((len(batch), width), -100, dtype=torch.long)
            feats = torch.zeros((len(batch), width, FEATURES))
            for k, (t, y) in enumerate(batch):
                feats[k, : len(t)] = torch.tensor(char_features(t))
                # given-name characters unseen in training read as UNK at use: drop some to UNK now
                ids[k, : len(t)] = torch.tensor(
                    [UNK if r.random() < (0.1 if y[i] == 2 else 0.03) else index.get(c, UNK) for i, c in enumerate(t)])
                ys[k, : len(t)] = torch.tensor(y)
            logits = model(ids, feats)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), ys.reshape(-1),
                                                     ignore_index=-100)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
            if step % 20 == 0:
                prog.update(task, completed=step, loss=f"{sum(losses[-20:]) / len(losses[-20:]):.4f}")
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    torch.save(model.state_dict(), out / "tagger.pt")
    (out / "vocab.json").write_text(json.dumps(chars, ensure_ascii=False), encoding="utf-8")
    recipe = {k: v for k, v in asdict(cfg).items() if k not in ("out", "threads", "members")}
    meta = {"dim": cfg.dim, "blocks": list(cfg.blocks), "features": FEATURES, "attention": cfg.attention,
            "threshold": cfg.threshold, "recipe": recipe,
            "corpus_sha256": _corpus_digest(cfg.corpus + cfg.labelled), "train_windows": len(train),
            "final_loss": round(sum(losses[-50:]) / max(1, len(losses[-50:])), 5),
            "train_seconds": round(time.time() - t0, 1), "pad": PAD, "unk": UNK}
    (out / "tagger.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    tagger = NameTagger(out)
    held = _span_scores([y for _, y in val], tagger.find_many([t for t, _ in val]))
    meta["held_out"] = held
    (out / "tagger.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    console.print(f"deid-train: {cfg.steps} steps in {meta['train_seconds']:.0f} s, loss {meta['final_loss']}, "
                  f"held-out windows name precision {held['precision']} recall {held['recall']} -> {out}")
    return meta


def _corpus_digest(paths: list[str]) -> str:
    h = hashlib.sha256()
    for p in paths:
        q = Path(p)
        for f in sorted(q.rglob("*")) if q.is_dir() else [q]:
            if f.is_file():
                h.update(f.name.encode())
                h.update(str(f.stat().st_size).encode())
    return h.hexdigest()
