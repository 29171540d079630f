"""A learned person-name detector for de-identification: a small character-level convolutional tagger
(embedding -> dilated residual 1-D convolutions -> B/I/O per character) that reads names the rules cannot,
in running text with no label, title or kin word ("凌晨3点揭永福突然坐起"). Trained by `deid_tagger_train` on
the user's own record text with names planted where the text names a person by role; weights are the
user's, never shipped (see docs). Torch is imported only when a tagger is loaded.

A tagger directory holds `tagger.pt` (weights), `vocab.json` (characters) and `tagger.json` (shape and
training recipe)."""

from __future__ import annotations

import json
import math
import re
import threading
from pathlib import Path
from typing import Any

from medgo.data.deid_cued import name_like
from medgo.data.deid_lexicon import (
    CLINICIAN_ROLES,
    COMMON_GIVEN,
    KIN_WORDS,
    NOT_NAMES_CLINICAL,
    SURNAMES_1,
    SURNAMES_2,
    SURNAMES_2_RARE,
    SURNAMES_RARE,
    SURNAMES_TOP,
)
from medgo.data.deid_names import (
    CHEM_NEXT,
    _dictionary_tags,
    clinical_term_at,
    crosses_words,
    dictionary_word,
    ends_a_word,
    not_a_name,
    note_cuts,
    read_name,
    surname_len,
)
from medgo.data.deid_terms import used_as_drug

TAGS = ("O", "B", "I")
PAD, UNK = 0, 1
WINDOW = 256  # characters per tagged window; windows overlap by CONTEXT on each side
CONTEXT = 32


def build_model(vocab_size: int, dim: int = 160, blocks: tuple[int, ...] = (1, 2, 4, 8, 1), feats: int = 0,
                attention: int = 0) -> Any:
    """`attention` self-attention layers after the convolutions let every character see the whole window (a name
    said once with a cue and once bare, 200 characters apart), beyond the convolutions' 33 characters."""
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, d: int, dilation: int) -> None:
            super().__init__()
            self.conv = nn.Conv1d(d, d, 3, padding=dilation, dilation=dilation)
            self.mix = nn.Conv1d(d, d, 1)
            self.norm = nn.GroupNorm(1, d)  # its weight and eps; the statistics are taken over the text only

        def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:  # x (B, d, T), keep (B, 1, T)
            # normalised over a text's own characters, not its batch's padding, and the padding kept at zero, so
            # a text reads the same alone or beside a longer one (GroupNorm over the padded width did not)
            n = keep.sum(dim=(1, 2), keepdim=True).clamp(min=1) * x.shape[1]
            mean = (x * keep).sum(dim=(1, 2), keepdim=True) / n
            var = (((x - mean) * keep) ** 2).sum(dim=(1, 2), keepdim=True) / n
            h = (x - mean) / torch.sqrt(var + self.norm.eps) * self.norm.weight[None, :, None] + self.norm.bias[None, :, None]
            return (x + self.mix(nn.functional.gelu(self.conv(h * keep)))) * keep

    class Tagger(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(vocab_size, dim, padding_idx=PAD)
            self.feat = nn.Linear(feats, dim, bias=False) if feats else None
            self.blocks = nn.ModuleList(Block(dim, d) for d in blocks)
            self.attn = nn.ModuleList(
                nn.TransformerEncoderLayer(dim, 4, 2 * dim, dropout=0.0, activation="gelu", batch_first=True,
                                           norm_first=True) for _ in range(attention))
            self.out = nn.Conv1d(dim, len(TAGS), 1)

        def forward(self, ids: torch.Tensor, f: torch.Tensor | None = None) -> torch.Tensor:  # (B, T) -> (B, T, tags)
            x = self.emb(ids)
            if self.feat is not None and f is not None:
                x = x + self.feat(f)
            pad = ids == PAD
            keep = (~pad).to(x.dtype)[:, None, :]
            x = x.transpose(1, 2) * keep
            for block in self.blocks:
                x = block(x, keep)
            if len(self.attn):
                pad[:, 0] = False  # a row of padding only must not attend to nothing
                y = x.transpose(1, 2)
                for layer in self.attn:
                    y = layer(y, src_key_padding_mask=pad)
                x = y.transpose(1, 2)
            return self.out(x).transpose(1, 2)

    return Tagger()


_SURNAMES_1 = frozenset(SURNAMES_1) | frozenset(SURNAMES_RARE)
_SURNAMES_2 = frozenset(SURNAMES_2) | frozenset(SURNAMES_2_RARE)


_TOP = frozenset(SURNAMES_TOP)
FEATURES = 4
EVIDENCE_FLOOR = 0.5  # readings below threshold x this never count, not even as one of several


def char_features(text: str) -> list[tuple[float, float, float, float]]:
    """Per character: a surname character, a frequent surname, the start of a compound surname, a frequent
    given-name character. Lets the tagger read a rare surname it met a few times in training as a surname."""
    return [(float(c in _SURNAMES_1), float(c in _TOP), float(text[i : i + 2] in _SURNAMES_2), float(c in COMMON_GIVEN))
            for i, c in enumerate(text)]


# Function characters that do not open a given name ("患者曾于…" is not 曾于, "由于某种" not 于某, "潘氏试验" not 潘氏).
_GIVEN_NEVER = set("于在自的了及等是系经被将对从说称今昨现已未均既某因诉述无余由氏")  # not 有 向 为 以: 王有才, 李向东, 李为民


# adverbs that are also surnames, and 左 (left): before a word ("曾|间断服用", "尚|顺畅", "余|症状同前", "方|癫痫",
# "应|理解", "左|髋部") they are no surname. Only these: most function surnames open word-like names (向前, 时和, 向往).
_ADVERB_SURNAMES = frozenset("曾尚余方应左")

# body characters: after 左 / 右 (left, right) they make a side and a body part, not a name (左眉弓, 右颞部, 左肘)
_LATERAL_BODY = frozenset("眉眼睑耳颞额顶枕颌颊唇舌腮颈肩臂肘腕掌指胸乳肺肋腋腹腰背臀髋股腿膝胫腓踝足趾跟肾输卵附")

# kin words and care-team roles right before a reading: a person follows, whatever the reading looks like
_PERSON_BEFORE = (*KIN_WORDS, *CLINICIAN_ROLES, "、")

# what follows a person's name in a drug's name
_DRUG_FORM = ("蛇药", "片", "丸", "膏", "胶囊", "颗粒", "口服液", "注射液", "酊", "栓")
# what follows a person's name in the name of a phenomenon, test or syndrome
_SIGN_RESULT = ("征阳性", "征阴性")  # after a sign's eponym, or after its last character (陶瑟征|阳性)
_EPONYM_NEXT = ("现象", "试验", "综合征", "综合症", "反射", "效应", "定律", *_SIGN_RESULT, "不动杆菌", "杆菌", "球菌",
                "评分", "定义", "改变", "分级", "分型")  # 兰森评分, 柏林定义, 莫迪克改变
_DISEASE_CHARS = frozenset("病症炎癌瘤疮疹")
# 病 after an eponym, then no word a person's 病 opens (王强病情, 病史, 病重, 病逝, 病假)
_DISEASE_NEXT = re.compile("病(?![情史人房区床历假程例友危重号因变灶理员种况了逝愈故休])")
# 征 after an eponym is its sign (霍夫曼征双侧阴性), not what a person does (王强征求意见)
_SIGN_NEXT = re.compile("征(?![求集询得用兵收召服途程战订稿文信])")
# the rest of a rating instrument's name (简明|精神病评定量表): the reading opens the instrument, no person
_INSTRUMENT = re.compile("[\u4e00-\u9fff]{0,12}(?:量表|问卷|评定|测验|检查表)(?![\u4e00-\u9fff])")
# the score a reading needs when its first character is in no surname list
ODD_SURNAME_SCORE = 0.8


def plausible(text: str, a: int, b: int, score: float = 0.0, cuts: dict[int, tuple[int, str]] | None = None) -> bool:
    """A tagged span may be a name: no drug's name follows it (季德胜|蛇药片); it starts with a surname (or, read
    with a score of ODD_SURNAME_SCORE or more, looks like a name whatever its first character: 门学文, 那英); and it
    is not a clinical or common word, nor the start of a clinical term standing there ("贾第" of 贾第鞭毛虫), nor the
    end of a word that starts before it ("中段癌" is not 段癌, "如何才能" not 何才能), nor part of a chemical's
    name, nor (three characters or more) across a word of the dictionary segmentation `cuts` (computed here when
    not given)."""
    cand = text[a:b]
    sl = surname_len(cand, 0, rare=True)
    if text.startswith(_DRUG_FORM, b) or ("\u4e00" <= text[b : b + 1] <= "\u9fff" and text.startswith(_DRUG_FORM, b + 1)):
        return False  # a drug named after its maker, or a short reading of it (季德胜蛇药片, 季德|胜蛇药片)
    if (text.startswith(_EPONYM_NEXT, b) or text.startswith(_EPONYM_NEXT, b + 1)
            or text.startswith(_SIGN_RESULT, b - 1) or _DISEASE_NEXT.match(text, b) or _SIGN_NEXT.match(text, b)
            or ("\u4e00" <= text[b : b + 1] <= "\u9fff" and _SIGN_NEXT.match(text, b + 1)) or _INSTRUMENT.match(text, b)):
        return False  # a phenomenon, sign, test, microbe or disease named after a person (苏木杰|现象, 庞贝|病、)
    if a >= 2 and text[a - 2 : a + 1] in _dictionary_tags():
        return False  # the reading opens on the last character of a word (凡士林|厚涂)
    # the reading and the next one or two characters are a word the note doses or gives as a drug (吞服舒乐|安定约20片)
    if any("\u4e00" <= text[b + k - 1 : b + k] <= "\u9fff" and used_as_drug(text, text[a : b + k]) for k in (1, 2)):
        return False
    # or its first characters are, and it runs on into the next word (芮达|锥 of "芮达（帕利哌酮缓释片）… 解释芮达锥体外系")
    if any(used_as_drug(text, text[a:e]) for e in range(a + 2, b)):
        return False
    # or the one or two characters before it and the reading are (左乙拉西坦（开|浦兰）)
    if any(a >= k and "\u4e00" <= text[a - k] <= "\u9fff" and used_as_drug(text, text[a - k : b]) for k in (1, 2)):
        return False
    if not sl:
        # a surname outside the lists (门学文, 那英): only a sure reading that looks like a name whatever its surname
        # and no entry of the dictionary at all (its name tags are noisy: 平卧 nr, 子宫 nr)
        return (2 <= b - a <= 3 and score >= ODD_SURNAME_SCORE and name_like(cand) and cand not in _dictionary_tags()
                and not ends_a_word(text, a))
    if not 2 <= b - a <= 5:
        return False
    if cand in NOT_NAMES_CLINICAL or (not_a_name(cand) and score < 0.9):  # a very sure tagger may read 江海 as a name
        return False
    given = cand[sl:]
    if text[b : b + 1] in ("穴", "灯") or any(a + k <= b and text[a : a + k] + "穴" in text for k in (2, 3)):
        return False  # an acupoint or a lamp (梁丘|穴, 伍德|灯), and that point wherever it stands (左梁丘|旧硬结)
    if not given or given[0] in _GIVEN_NEVER or set(given) & _DISEASE_CHARS or given[-1] in ("穴", "灯"):
        return False  # no given name holds a disease's character (庞贝病), nor ends an acupoint or lamp (梁丘穴, 伍德灯)
    if (sl == 1 and cand[0] in _ADVERB_SURNAMES and dictionary_word(given)
            and not all(c in COMMON_GIVEN for c in given) and not text.endswith(_PERSON_BEFORE, 0, a)):
        return False  # an adverb before a word (曾|间断, 应|理解), not 曾建国 nor a person named after a kin word (侄子曾繁荣)
    if cand[0] in "左右" and sl == 1 and set(given) & _LATERAL_BODY:
        return False  # a side and a body part (左眉弓裂伤)
    if ends_a_word(text, a) or text[b : b + 1] in CHEM_NEXT or any(c in CHEM_NEXT for c in given):
        return False  # ... nor a chemical's name (石杉碱|甲, 马来|酸)
    if clinical_term_at(text, a) or any(a >= k and clinical_term_at(text, a - k, a) for k in (1, 2)):
        return False  # nor inside one (林定 of 柏林定义)
    # three characters or more: not across a word of the dictionary segmentation ("查明病|因", "严格按"); a very
    # sure reading may. (A two-character name's given character joins the next word too often: 何晶|配好.)
    return b - a < 3 or score >= 0.9 or not crosses_words(note_cuts(text) if cuts is None else cuts, a, b)


class _Member:
    """One trained network of a tagger folder: its characters, weights and input features."""

    def __init__(self, folder: Path, torch: Any) -> None:
        meta = json.loads((folder / "tagger.json").read_text(encoding="utf-8"))
        chars = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        self.meta = meta
        self.index = {c: i + 2 for i, c in enumerate(chars)}
        self.feats = int(meta.get("features", 0))
        self.model = build_model(len(chars) + 2, meta["dim"], tuple(meta["blocks"]), self.feats,
                                 int(meta.get("attention", 0)))
        self.model.load_state_dict(torch.load(folder / "tagger.pt", map_location="cpu", weights_only=True))
        self.model.eval()


class NameTagger:
    """Loaded tagger: `find(text)` -> [(start, end, score)] of name spans. A folder may hold further members
    (`member1/`, `member2/`, ... each a tagger folder, trained with other seeds): their probabilities are
    averaged, which reads more names and fewer words than any one of them."""

    def __init__(self, path: str | Path, threshold: float | None = None) -> None:
        import torch

        self.path = Path(path)
        self._torch = torch
        folders = [self.path, *sorted(p for p in self.path.glob("member*") if (p / "tagger.pt").is_file())]
        self.members = [_Member(f, torch) for f in folders]
        self.meta = self.members[0].meta
        self.threshold = float(self.meta.get("threshold", 0.5) if threshold is None else threshold)
        self._ready: dict[str, list[tuple[int, int, float]]] = {}

    def encode(self, text: str, member: int = 0) -> list[int]:
        index = self.members[member].index
        return [index.get(c, UNK) for c in text]

    def probs(self, texts: list[str]) -> list[list[tuple[float, float]]]:
        """Per character (P(B), P(I)) for each text, the members' mean, tagging long texts in overlapping windows."""
        torch = self._torch
        pieces: list[tuple[int, int, int, int]] = []  # (text index, window start, keep from, keep to)
        for k, t in enumerate(texts):
            a = 0
            while True:
                lo = max(0, a - CONTEXT)
                pieces.append((k, lo, a, min(len(t), a + WINDOW - 2 * CONTEXT)))
                a += WINDOW - 2 * CONTEXT
                if a >= len(t):
                    break
        out = [[(0.0, 0.0)] * len(t) for t in texts]
        order = sorted(range(len(pieces)), key=lambda i: -(pieces[i][3] - pieces[i][1]))
        with torch.inference_mode():
            for s in range(0, len(order), 64):
                batch = [pieces[i] for i in order[s : s + 64]]
                segs = [texts[k][lo : min(len(texts[k]), hi + CONTEXT)] for k, lo, _, hi in batch]
                width = max(1, max(len(x) for x in segs))
                feats = torch.zeros((len(segs), width, FEATURES))
                for r, x in enumerate(segs):
                    if x:
                        feats[r, : len(x)] = torch.tensor(char_features(x))
                total = None
                for m, member in enumerate(self.members):
                    ids = torch.zeros((len(segs), width), dtype=torch.long)
                    for r, x in enumerate(segs):
                        ids[r, : len(x)] = torch.tensor(self.encode(x, m), dtype=torch.long)
                    q = torch.softmax(member.model(ids, feats if member.feats else None), dim=-1)[:, :, 1:]
                    total = q if total is None else total + q
                p = (total / len(self.members)).tolist()  # type: ignore[operator]
                for r, (k, lo, a, hi) in enumerate(batch):
                    out[k][a:hi] = [tuple(v) for v in p[r][a - lo : hi - lo]]
        return out

    def find_many(self, texts: list[str]) -> list[list[tuple[int, int, float]]]:
        return [self._decode(t, p) for t, p in zip(texts, self.probs(texts), strict=True)]

    def prefetch(self, texts: list[str]) -> None:
        """Tag many texts in one batch (about 2.5x faster than one by one); `find` then answers from memory."""
        todo = list(dict.fromkeys(t for t in texts if t and t not in self._ready))
        for t, found in zip(todo, self.find_many(todo), strict=True):
            self._ready[t] = found
        while len(self._ready) > 4096:
            self._ready.pop(next(iter(self._ready)))

    def find(self, text: str) -> list[tuple[int, int, float]]:
        if not text:
            return []
        hit = self._ready.pop(text, None)
        return hit if hit is not None else self.find_many([text])[0]

    def _decode(self, text: str, p: list[tuple[float, float]]) -> list[tuple[int, int, float]]:
        spans = []
        cuts: dict[int, tuple[int, str]] | None = None  # the note's segmentation, once a reading needs it
        i, n = 0, len(text)
        while i < n:
            if p[i][0] < 0.5 * self.threshold:
                i += 1
                continue
            j = i + 1
            while j < n and j - i < 6 and p[j][1] > p[j][0] and p[j][1] >= 0.5 * self.threshold:
                j += 1
            score = sum(p[i][0] if k == i else p[k][1] for k in range(i, j)) / (j - i)
            if j - i == 1 and p[i][0] >= self.threshold:  # a confident start alone: the rules' reading of its end,
                ln = read_name(text, i, fallback=True)  # else the surname and two given-name characters
                if ln <= 1 and all("\u4e00" <= c <= "\u9fff" and c not in _GIVEN_NEVER for c in text[i + 1 : i + 3]):
                    ln = 3 if len(text) >= i + 3 else 0
                if ln > 1:
                    j, score = i + ln, p[i][0]
            if score >= self.threshold * EVIDENCE_FLOOR:
                cuts = note_cuts(text) if cuts is None else cuts
                if plausible(text, i, j, score, cuts):
                    spans.append((i, j, round(score, 4)))
                elif j - i == 3 and surname_len(text, i) == 1 and plausible(text, i, j - 1, score, cuts):
                    spans.append((i, j - 1, round(score, 4)))  # 何晶|配好: one character too far
            i = j
        return self._document_evidence(text, spans)

    def _document_evidence(self, text: str, spans: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
        """A string read as a name at several places of one note, none of them sure, is a name when the readings
        together are (noisy-or: three readings at 0.3 give 0.66); a single unsure reading is not."""
        by: dict[str, list[float]] = {}
        for a, b, sc in spans:
            by.setdefault(text[a:b], []).append(sc)
        joint = {v: 1 - math.prod(1 - x for x in xs) for v, xs in by.items()}
        return [(a, b, sc) for a, b, sc in spans if sc >= self.threshold or
                (len(by[text[a:b]]) >= 2 and joint[text[a:b]] >= self.threshold)]


_CACHE: dict[tuple[str, float | None], NameTagger] = {}
_LOCK = threading.Lock()


def load_tagger(path: str | Path, threshold: float | None = None) -> NameTagger:
    """One loaded tagger per (directory, threshold) per process."""
    key = (str(Path(path).resolve()), threshold)
    with _LOCK:
        if key not in _CACHE:
            p = Path(path)
            if not (p / "tagger.pt").is_file():
                raise FileNotFoundError(
                    f"{p}: no tagger.pt here (deid.tagger). Train one with `medgo data deid-train --out {p} "
                    "--corpus <your record text>`, or drop deid.tagger to use the rules alone."
                )
            _CACHE[key] = NameTagger(p, threshold)
        return _CACHE[key]
