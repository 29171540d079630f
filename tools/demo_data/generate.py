"""Deterministic generator of medgo's own synthetic demo data (stdlib only).

Usage: python tools/demo_data/generate.py --out data/demo --seed 0
Same seed -> byte-identical files. All text is rendered from the hand-written knowledge base in
`data/demo/knowledge.json`; nothing is copied from external data sets. A project tool: not in the wheel.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

KNOWLEDGE = Path(__file__).resolve().parents[2] / "data" / "demo" / "knowledge.json"


@dataclass(frozen=True)
class Disease:
    name: str
    dept: str
    definition: str
    symptoms: tuple[str, ...]
    causes: tuple[str, ...]
    exams: tuple[str, ...]
    drugs: tuple[tuple[str, str], ...]  # (drug, typical dose)
    therapy: str  # non-drug / overall treatment principle
    surgery: str  # whether surgery / procedures are needed
    prognosis: str
    red_flags: tuple[str, ...]
    lifestyle: tuple[str, ...]
    differential: tuple[str, ...]
    signs: tuple[str, ...]  # physical-exam findings for case vignettes
    patient: str  # typical patient for case vignettes, e.g. "58岁男性"
    duration: str  # typical course, e.g. "3年"


@dataclass(frozen=True)
class Drug:
    name: str
    cls: str
    indication: str
    dose: str
    side_effects: str
    caution: str


@dataclass(frozen=True)
class Exam:
    name: str
    purpose: str
    method: str
    note: str


def _tuples(x):
    return tuple(_tuples(v) for v in x) if isinstance(x, list) else x


def load_knowledge(path: Path = KNOWLEDGE):
    kb = json.loads(path.read_text(encoding="utf-8"))
    diseases = tuple(Disease(**{k: _tuples(v) for k, v in d.items()}) for d in kb["diseases"])
    drugs = {d["name"]: Drug(**d) for d in kb["drugs"]}
    exams = {e["name"]: Exam(**e) for e in kb["exams"]}
    return diseases, drugs, exams, kb["symptom_notes"]


DISEASES, DRUGS, EXAMS, SYMPTOM_NOTES = load_knowledge()

BY_NAME: dict[str, Disease] = {d.name: d for d in DISEASES}

QIC_TEMPLATE = (
    "请判断下面这个医疗问题的意图类别。\n选项：病情诊断，治疗方案，病因分析，用药建议，注意事项，就医建议\n问题：{text}\n答案："
)
LABELS: tuple[str, ...] = ("病情诊断", "治疗方案", "病因分析", "用药建议", "注意事项", "就医建议")
EVAL_PER_LABEL = 20
SFT_QIC_PER_LABEL = (34, 34, 33, 33, 33, 33)  # 200 rows in total
N_QA = 150
N_MULTI = 50

SYSTEM_PROMPTS: tuple[str, ...] = (
    "你是一名专业的医生助手，请用通俗、准确的语言回答患者的问题，必要时提醒其及时就医。",
    "你是一名专业的医生助手，回答要基于医学常识，条理清楚，不确定时建议线下就诊。",
    "你是一名专业的医生助手，负责为患者提供健康咨询，注意用药安全并识别危险信号。",
)

Row = dict[str, object]


# ----------------------------------------------------------------------------- helpers
def jn(items: Sequence[str], sep: str = "、") -> str:
    return sep.join(items)


def some(rng: random.Random, items: Sequence[str], lo: int, hi: int) -> list[str]:
    """A random subset (kept in knowledge-base order) of size in [lo, hi]."""
    k = min(len(items), rng.randint(lo, hi))
    idx = sorted(rng.sample(range(len(items)), k))
    return [items[i] for i in idx]


def drug_phrase(drugs: Sequence[tuple[str, str]]) -> str:
    return "；".join(f"{name}，{dose}" for name, dose in drugs)


def clean_symptoms(d: Disease) -> list[str]:
    """Symptoms usable inside a patient's question (no numbers, no 'no symptoms')."""
    out = [s for s in d.symptoms if "无明显" not in s and not any(c.isdigit() for c in s)]
    return out or list(d.symptoms)


def fit(parts: Sequence[str], lo: int, hi: int, filler: Sequence[str] = ()) -> str:
    """Join sentences, drop trailing ones while too long, add filler while too short."""
    parts = [p for p in parts if p]
    text = "".join(parts)
    while len(text) > hi and len(parts) > 1:
        parts = parts[:-1]
        text = "".join(parts)
    for f in filler:
        if len(text) >= lo:
            break
        text += f
    return text


def dump(path: Path, rows: list[Row]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


# ----------------------------------------------------------------------------- answers (shared)
def ans_diagnosis(rng: random.Random, d: Disease, syms: Sequence[str]) -> str:
    ex = jn(d.exams[:3])
    opener = rng.choice((
        f"根据您描述的{jn(syms)}等表现，需要考虑{d.name}的可能。",
        f"{jn(syms)}是{d.name}比较典型的表现，但仅凭症状还不能确诊。",
        f"从症状看，{d.name}的可能性较大，{d.name}是{d.definition}。",
    ))
    return fit([
        opener,
        f"还需要与{jn(d.differential[:2])}等疾病鉴别。",
        f"建议到{d.dept}就诊，完善{ex}等检查明确诊断。",
        f"如果出现{rng.choice(d.red_flags)}，请立即就医。",
    ], 50, 250)


def ans_treatment(rng: random.Random, d: Disease) -> str:
    return fit([
        rng.choice((f"{d.name}的治疗原则是：{d.therapy}。", f"{d.name}一般这样处理：{d.therapy}。")),
        f"关于手术，{d.surgery}。",
        f"{d.prognosis}。",
        "具体方案需要医生面诊后结合病情制定。",
    ], 50, 250)


def ans_cause(rng: random.Random, d: Disease) -> str:
    causes = some(rng, d.causes, 3, 5)
    return fit([
        f"{d.name}是{d.definition}。",
        rng.choice((f"常见的原因和危险因素有{jn(causes)}。", f"它的发生与{jn(causes)}等因素有关。")),
        "往往是多种因素共同作用的结果。",
        f"针对可控因素，可以{jn(d.lifestyle[:2], '，')}。",
    ], 50, 250)


def ans_drug(rng: random.Random, d: Disease) -> str:
    drugs = d.drugs[:3]
    first = DRUGS[drugs[0][0]]
    return fit([
        f"{d.name}常用药物包括：{drug_phrase(drugs)}。",
        f"其中{first.name}常见不良反应有{first.side_effects}，{first.caution}。",
        "以上为常用剂量，具体用药需医生根据病情、肝肾功能和合并用药决定，不要自行加减或停药。",
    ], 50, 250, ("如有疑问请咨询医生或药师。",))


def ans_care(rng: random.Random, d: Disease) -> str:
    tips = some(rng, d.lifestyle, 3, 5)
    return fit([
        rng.choice((f"{d.name}患者日常需要注意：", f"得了{d.name}，生活中建议：")),
        "；".join(tips) + "。",
        f"遵医嘱规律治疗和复查。出现{jn(d.red_flags[:2])}时要及时就医。",
    ], 50, 250)


def ans_visit(rng: random.Random, d: Disease) -> str:
    return fit([
        rng.choice((f"{d.name}建议挂{d.dept}。", f"这种情况首先看{d.dept}。")),
        f"就诊时医生通常会安排{jn(d.exams[:3])}等检查，可带上既往检查结果和正在服用的药物清单。",
        "一般二级及以上医院都能诊治，病情复杂时可到三级医院专科进一步评估。",
        f"如果出现{jn(d.red_flags[:2])}，应立即去急诊或拨打120。",
    ], 50, 250)


# ----------------------------------------------------------------------------- corpus
def corpus_disease(rng: random.Random, d: Disease) -> list[str]:
    syms, causes = some(rng, d.symptoms, 3, 6), some(rng, d.causes, 3, 6)
    docs = [
        rng.choice((
            f"{d.name}是{d.definition}。本病主要由{d.dept}诊治。常见病因和危险因素包括{jn(causes)}。"
            f"典型表现有{jn(syms)}。{d.prognosis}。",
            f"【{d.name}】概述：{d.name}是{d.definition}。就诊科室：{d.dept}。危险因素：{jn(causes)}。"
            f"临床上患者多以{jn(syms[:2])}为主要表现前来就诊。",
            f"{d.name}属于{d.dept}的常见病。所谓{d.name}，是指{d.definition}。"
            f"在{jn(causes)}等因素作用下更容易发病，因此预防的关键在于控制这些危险因素。",
        )),
        rng.choice((
            f"{d.name}的临床表现：患者常出现{jn(d.symptoms)}。症状轻重因人而异，部分患者早期可不明显。"
            f"需要警惕的危险信号包括{jn(d.red_flags)}，一旦出现应立即就医。",
            f"哪些症状提示{d.name}？最常见的是{jn(d.symptoms[:3])}，此外还可能有{jn(d.symptoms[3:]) or '其他不适'}。"
            f"医生查体时可发现{jn(d.signs, '，')}等体征。如出现{jn(d.red_flags[:2])}，属于急症，应尽快到医院。",
        )),
        rng.choice((
            f"{d.name}的诊断需要结合症状、体征和辅助检查。常用检查包括"
            + "；".join(f"{e}，可{EXAMS[e].purpose}" for e in d.exams[:4])
            + f"。诊断时还需要排除{jn(d.differential)}等疾病。",
            f"怀疑{d.name}时应做哪些检查？一般先做{jn(d.exams[:2])}，必要时加做{jn(d.exams[2:]) or '其他专项检查'}。"
            f"{d.name}需要与{jn(d.differential)}相鉴别，后者的表现有时相似，需要由医生综合判断。",
        )),
        rng.choice((
            f"{d.name}的治疗：{d.therapy}。常用药物及参考剂量：{drug_phrase(d.drugs)}。"
            f"{d.surgery}。用药剂量需遵医嘱个体化调整。",
            f"关于{d.name}的药物治疗，临床常用{jn([n for n, _ in d.drugs])}等。"
            + "".join(f"{n}的常用剂量为{dose}。" for n, dose in d.drugs[:3])
            + f"总体治疗原则是{d.therapy}。",
        )),
        rng.choice((
            f"{d.name}的预防与日常管理：" + "；".join(d.lifestyle) + f"。{d.prognosis}。",
            f"得了{d.name}生活上要注意什么？第一，{d.lifestyle[0]}；第二，{d.lifestyle[1]}；"
            f"第三，{d.lifestyle[2]}。此外还应遵医嘱定期复查，出现{jn(d.red_flags[:2])}要及时就诊。",
        )),
        f"问：{d.name}能治好吗？答：{d.prognosis}。问：{d.name}需要手术吗？答：{d.surgery}。"
        f"问：{d.name}挂什么科？答：一般挂{d.dept}。问：{d.name}是什么原因引起的？答：与{jn(causes[:3])}等有关。",
        f"病例学习：{d.patient}，因{jn(syms[:2])}{d.duration}就诊。查体：{jn(d.signs, '，')}。"
        f"结合{jn(d.exams[:2])}等检查，诊断为{d.name}。治疗上{d.therapy}。"
        f"本例提示，出现{syms[0]}时应及时到{d.dept}就诊，避免延误。",
        f"{d.name}与{jn(d.differential)}如何区分？"
        + "".join(f"{x}的典型表现为{jn(BY_NAME[x].symptoms[:3])}，多在{BY_NAME[x].dept}诊治；"
                  for x in d.differential if x in BY_NAME)
        + f"而{d.name}多表现为{jn(d.symptoms[:3])}，可通过{jn(d.exams[:2])}等检查帮助鉴别。",
        f"{d.name}的用药提醒：" + "".join(
            f"{n}（{DRUGS[n].cls}）可能出现{DRUGS[n].side_effects}，{DRUGS[n].caution}；" for n, _ in d.drugs[:3])
        + "服药期间应遵医嘱复查，不要自行停药或更换药物。",
        f"{d.name}患者何时需要就医？{d.name}平时在{d.dept}门诊随访即可，首次就诊一般会做{jn(d.exams[:3])}。"
        f"若出现{jn(d.red_flags)}等情况，提示病情可能加重，应立即到急诊就诊或拨打120。"
        f"就诊时携带既往病历、检查报告和正在使用的药物，有助于医生判断。",
    ]
    filler = (f"{d.name}的诊治应在{d.dept}医生指导下进行。", "以上内容为科普知识，不能代替医生面诊。")
    return [fit([t], 100, 600, filler) for t in docs]


def corpus_dept(rng: random.Random, dept: str) -> list[str]:
    ds = [d for d in DISEASES if d.dept == dept]
    if len(ds) < 2:
        return []
    body = "".join(f"{d.name}，常见{jn(d.symptoms[:2])}；" for d in ds)
    return [fit([f"{dept}常见疾病介绍：{body}", f"这些疾病常用的检查有{jn(sorted({e for d in ds for e in d.exams[:2]}))}。",
                 f"出现上述症状时可首先到{dept}就诊，医生会根据情况安排进一步检查或转诊。"], 100, 600,
                ("以上内容为科普知识，不能代替医生面诊。",))]


def corpus_drug(rng: random.Random, name: str) -> list[str]:
    g = DRUGS[name]
    used = [d.name for d in DISEASES if any(n == name for n, _ in d.drugs)]
    filler = (f"使用{g.name}前请告知医生过敏史、肝肾功能情况和正在服用的其他药物。",
              "孕妇、哺乳期女性、儿童和老年人用药需特别谨慎。", "本文仅为药物科普，具体用法以说明书和医嘱为准。")
    docs = [
        f"【{g.name}】药物类别：{g.cls}。适应证：{g.indication}。用法用量：{g.dose}。"
        f"常见不良反应：{g.side_effects}。注意事项：{g.caution}。本品应在医生或药师指导下使用。",
        rng.choice((
            f"{g.name}是一种{g.cls}，临床上常用于{jn(used) or g.indication}等疾病的治疗。"
            f"一般用法为{g.dose}。服药后可能出现{g.side_effects}，多数较轻。需要特别注意的是：{g.caution}。",
            f"{g.name}怎么吃？{g.name}属于{g.cls}，主要用于{g.indication}，常用量为{g.dose}。"
            f"有些人服用后会出现{g.side_effects}。{g.caution}。切勿自行加量或与同类药物叠加使用。",
        )),
    ]
    return [fit([t], 100, 600, filler) for t in docs]


def corpus_exam(rng: random.Random, name: str) -> list[str]:
    e = EXAMS[name]
    used = [d.name for d in DISEASES if name in d.exams]
    filler = ("检查结果需要由医生结合症状和其他检查综合判断，不要仅凭单项指标自行下结论。",
              "如对检查有顾虑，可在检查前向医生说明病史、过敏史和正在服用的药物。")
    return [
        fit([f"{e.name}是临床常用的检查项目，主要作用是{e.purpose}。检查方法：{e.method}。注意事项：{e.note}。",
             f"临床上常用于{jn(used)}等疾病的诊断和随访。" if used else ""], 100, 600, filler),
        fit([rng.choice((f"为什么要做{e.name}？", f"医生开了{e.name}，这是查什么的？")),
             f"简单来说，{e.name}可以{e.purpose}。",
             f"怀疑{jn(used[:3])}时医生常会安排这项检查。" if used else "",
             f"检查怎么做：{e.method}。检查前须知：{e.note}。"], 100, 600, filler[::-1]),
    ]


def corpus_symptom(rng: random.Random, sym: str, note: str) -> list[str]:
    hits = [d for d in DISEASES if any(sym in s for s in d.symptoms)]
    if not hits:
        return []
    parts = [f"{sym}的常见原因：{note}。"]
    for d in hits[:5]:
        parts.append(f"{d.name}引起的{sym}常伴有{jn([s for s in d.symptoms if sym not in s][:2])}，建议到{d.dept}就诊；")
    parts.append("如伴有" + jn(sorted({d.red_flags[0] for d in hits})[:2]) + "等情况，应立即就医。")
    return [fit(parts, 100, 600)]


def build_corpus(rng: random.Random) -> list[Row]:
    texts: list[str] = []
    for d in DISEASES:
        texts += corpus_disease(rng, d)
    for name in DRUGS:
        texts += corpus_drug(rng, name)
    for name in EXAMS:
        texts += corpus_exam(rng, name)
    for sym, note in SYMPTOM_NOTES.items():
        texts += corpus_symptom(rng, sym, note)
    for dept in dict.fromkeys(d.dept for d in DISEASES):
        texts += corpus_dept(rng, dept)
    seen: set[str] = set()
    rows: list[Row] = []
    for t in texts:
        if t in seen or not 100 <= len(t) <= 600:
            continue
        seen.add(t)
        rows.append({"id": f"corpus-{len(rows) + 1:05d}", "text": t, "source": "demo-corpus"})
    return rows


# ----------------------------------------------------------------------------- QIC questions
# {d}=disease, {s1}/{s2}=symptoms, {g}=one of its drugs. Each template carries its label's cue phrase.
QIC_TEMPLATES: dict[str, tuple[str, ...]] = {
    "病情诊断": (
        "最近总是{s1}，还{s2}，这是什么病？", "{s1}伴{s2}好几天了，是不是得了{d}？", "{s1}和{s2}同时出现，可能是什么病？",
        "出现{s1}是不是{d}的表现？", "家里老人{s1}、{s2}，会是{d}吗？", "我{s1}，医生说可能是{d}，怎么确诊？",
        "{s1}，{s2}，需要考虑{d}吗？", "经常{s1}，是不是得了什么病？", "{s1}又{s2}，我是不是得了{d}？",
        "{s2}加上{s1}，到底是什么病？",
    ),
    "治疗方案": (
        "{d}怎么治疗？", "{d}能治好吗？", "{d}需要手术吗？", "{d}有什么好的治疗方法？", "得了{d}该怎么治？",
        "{d}能根治吗？", "{d}除了吃药还有什么治疗办法？", "{d}一般要治疗多久？", "{d}要做手术还是保守治疗？",
        "{d}最有效的治疗方案是什么？",
    ),
    "病因分析": (
        "为什么会得{d}？", "{d}是什么原因引起的？", "年纪轻轻怎么会得{d}？", "{d}的病因有哪些？",
        "好端端的为什么会{s1}？", "{d}和什么因素有关？", "老是{s1}是什么原因导致的？", "{d}会遗传吗？",
        "为什么会反复{s1}？", "{d}是怎么引起的？",
    ),
    "用药建议": (
        "{d}吃什么药？", "{d}吃什么药效果好？", "得了{d}能吃{g}吗？", "{g}治{d}一次吃多少？", "{g}的药量怎么掌握？",
        "{d}需要一直吃药吗？", "{g}有什么副作用？", "{d}可以吃中成药吗？", "{d}用什么药比较好？", "{g}饭前吃还是饭后吃？",
    ),
    "注意事项": (
        "{d}要注意什么？", "{d}饮食上要注意什么？", "{d}患者能运动吗？", "{d}能喝酒吗？", "{d}平时生活中有哪些禁忌？",
        "{d}吃什么食物好？", "得了{d}还能正常上班吗？", "{d}出院后要注意哪些？", "{d}能吃辣吗？", "{d}日常护理要注意啥？",
    ),
    "就医建议": (
        "{d}挂什么科？", "{d}去哪个医院看比较好？", "{s1}应该挂哪个科？", "{d}需要去大医院吗？", "{d}看门诊还是急诊？",
        "{s1}要不要马上去医院？", "{d}复查应该找哪个科的医生？", "{d}去社区医院能看吗？", "{s1}{s2}去医院挂什么号？",
        "怀疑{d}去哪个科室就诊？",
    ),
}


def render(rng: random.Random, tpl: str, d: Disease) -> str:
    syms = clean_symptoms(d)
    s1 = rng.choice(syms)
    rest = [s for s in syms if s != s1] or syms
    return tpl.format(d=d.name, s1=s1, s2=rng.choice(rest), g=rng.choice(d.drugs)[0])


def build_qic(rng: random.Random) -> tuple[list[Row], list[tuple[str, str]]]:
    """Returns (eval rows, SFT (question, label) pairs); combos are split, texts are disjoint."""
    eval_rows: list[Row] = []
    sft_pairs: list[tuple[str, str]] = []
    used: set[str] = set()
    for li, label in enumerate(LABELS):
        combos = [(di, ti) for di in range(len(DISEASES)) for ti in range(len(QIC_TEMPLATES[label]))]
        rng.shuffle(combos)
        n_eval = n_sft = 0
        for di, ti in combos:
            text = render(rng, QIC_TEMPLATES[label][ti], DISEASES[di])
            if text in used:
                continue
            if n_eval < EVAL_PER_LABEL:
                used.add(text)
                n_eval += 1
                eval_rows.append({"id": "", "task": "qic", "text": text, "label": label})
            elif n_sft < SFT_QIC_PER_LABEL[li]:
                used.add(text)
                n_sft += 1
                sft_pairs.append((text, label))
    # interleave labels so the file is not sorted by class
    rng.shuffle(eval_rows)
    rng.shuffle(sft_pairs)
    for i, r in enumerate(eval_rows):
        r["id"] = f"qic-eval-{i + 1:04d}"
    return eval_rows, sft_pairs


# ----------------------------------------------------------------------------- SFT
QA_QUESTIONS: dict[str, tuple[str, ...]] = {
    "病情诊断": ("医生您好，我最近{s1}，而且{s2}，想问问这可能是什么问题？",
             "家人这几天{s1}、{s2}，我们担心是{d}，该怎么判断？"),
    "治疗方案": ("医生，刚查出来{d}，想了解一下一般怎么治疗，能不能治好？",
             "您好，家里老人确诊了{d}，治疗上有哪些方法，要不要做手术？"),
    "病因分析": ("请问{d}到底是怎么得的？我平时身体还可以。", "医生，想知道{d}的发病原因，和生活习惯有关系吗？"),
    "用药建议": ("医生您好，{d}一般用哪些药，剂量是多少？", "我被诊断为{d}，想了解常用的药物和用法。"),
    "注意事项": ("确诊{d}以后，日常生活和饮食上需要注意些什么？", "医生，{d}患者平时在家要怎么护理？"),
    "就医建议": ("您好，我怀疑自己是{d}，应该去医院看哪个科，要做哪些检查？", "想带家人去看{d}，挂哪个科室比较合适？"),
}
ANSWERERS: dict[str, Callable[[random.Random, Disease], str]] = {
    "治疗方案": ans_treatment, "病因分析": ans_cause, "用药建议": ans_drug, "注意事项": ans_care, "就医建议": ans_visit,
}


def qa_turn(rng: random.Random, d: Disease, label: str) -> tuple[str, str]:
    syms = clean_symptoms(d)
    s = rng.sample(syms, min(2, len(syms)))
    q = rng.choice(QA_QUESTIONS[label]).format(d=d.name, s1=s[0], s2=s[-1])
    a = ans_diagnosis(rng, d, s) if label == "病情诊断" else ANSWERERS[label](rng, d)
    return q, a


def with_system(rng: random.Random, msgs: list[dict[str, str]], p: float) -> list[dict[str, str]]:
    if rng.random() < p:
        return [{"role": "system", "content": rng.choice(SYSTEM_PROMPTS)}] + msgs
    return msgs


def build_case(rng: random.Random, d: Disease) -> tuple[str, str]:
    syms = clean_symptoms(d)
    main = [syms[0]] + rng.sample(syms[1:], min(2, len(syms) - 1))
    risk = rng.choice(d.causes)
    user = (
        f"患者，{d.patient}。主诉：{main[0]}{d.duration}。现病史：{d.duration}前出现{main[0]}，"
        f"伴{jn(main[1:]) or '轻度不适'}。危险因素：{risk}。查体：{jn(d.signs, '，')}。"
        + rng.choice(("请给出初步诊断、鉴别诊断和下一步检查。", "请分析：初步诊断是什么？需与哪些疾病鉴别？下一步做哪些检查？"))
    )
    asst = (
        f"初步诊断：{d.name}。依据：{d.patient}，以{jn(main[:2])}为主要表现，查体见{d.signs[0]}，"
        f"且存在{risk}等危险因素。\n鉴别诊断：{jn(d.differential)}。\n"
        f"下一步检查：{jn(d.exams[:4])}。\n处理建议：{d.therapy}；如出现{d.red_flags[0]}需紧急处理。"
    )
    return user, asst


def build_sft(rng: random.Random, qic_pairs: list[tuple[str, str]], eval_texts: set[str]) -> list[Row]:
    rows: list[Row] = []

    def add(msgs: list[dict[str, str]], source: str) -> None:
        users = [m["content"] for m in msgs if m["role"] == "user"]
        if source != "demo-qic" and any(t in u for u in users for t in eval_texts):
            return  # keep eval questions out of SFT entirely
        rows.append({"id": "", "messages": msgs, "source": source})

    for text, label in qic_pairs:
        add([{"role": "user", "content": QIC_TEMPLATE.format(text=text)}, {"role": "assistant", "content": label}],
            "demo-qic")
    combos = [(d, lab) for d in DISEASES for lab in LABELS]
    rng.shuffle(combos)
    for d, lab in combos[:N_QA]:
        q, a = qa_turn(rng, d, lab)
        add(with_system(rng, [{"role": "user", "content": q}, {"role": "assistant", "content": a}], 0.3), "demo-qa")
    follow = {"用药建议": ("那需要吃什么药？", "平时用药有什么讲究？"), "注意事项": ("平时生活上要注意什么？", "饮食方面呢？"),
              "就医建议": ("我该去哪个科看？", "需要去医院做检查吗？"), "治疗方案": ("这个病好治吗？", "需要手术吗？")}
    for i in range(N_MULTI):
        d = DISEASES[i % len(DISEASES)]
        q, a = qa_turn(rng, d, "病情诊断")
        msgs = [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
        extra = rng.sample(sorted(follow), 1 if i % 3 == 0 else 2)
        for lab in extra:
            msgs.append({"role": "user", "content": rng.choice(follow[lab])})
            msgs.append({"role": "assistant", "content": ANSWERERS[lab](rng, d)})
        add(with_system(rng, msgs, 0.4), "demo-multiturn")
    for d in DISEASES:
        u, a = build_case(rng, d)
        add(with_system(rng, [{"role": "user", "content": u}, {"role": "assistant", "content": a}], 0.3), "demo-case")
    rng.shuffle(rows)
    for i, r in enumerate(rows):
        r["id"] = f"sft-{i + 1:05d}"
    return rows


# ----------------------------------------------------------------------------- preference
VAGUE = ("这个问题比较常见，不用太担心，多喝热水、注意休息，过几天应该就好了。",
         "每个人情况不一样，不好说，建议你自己多注意，不舒服就去医院看看。",
         "这个病说复杂也复杂，说简单也简单，调整好心态最重要。")


def build_preference(rng: random.Random) -> list[Row]:
    rows: list[Row] = []
    kinds = ("drug", "dept", "danger", "vague")
    for i, d in enumerate(DISEASES):
        others = [o for o in DISEASES if o.dept != d.dept]
        for kind in kinds:
            if (i + kinds.index(kind)) % 4 == 3:  # 3 of 4 pair kinds per disease
                continue
            o = rng.choice(others)
            if kind == "drug":
                q = rng.choice((f"{d.name}应该吃什么药？", f"医生，我确诊了{d.name}，用什么药治疗？"))
                chosen = ans_drug(rng, d)
                wrong = o.drugs[0]
                rejected = f"{d.name}直接吃{wrong[0]}就行，{wrong[1]}，吃几天症状没了就可以自己停药，不用复查。"
            elif kind == "dept":
                q = rng.choice((f"{d.name}要挂哪个科？", f"怀疑自己得了{d.name}，去医院该挂什么科？"))
                chosen = ans_visit(rng, d)
                rejected = f"{d.name}挂{o.dept}就可以了，{o.dept}的医生都能看，不需要做什么检查。"
            elif kind == "danger":
                flag = rng.choice(d.red_flags)
                q = rng.choice((f"我有{d.name}，现在出现了{flag}，可以在家先观察一下吗？",
                                f"家人患{d.name}，今天突然{flag}，要紧吗？"))
                chosen = fit([f"出现{flag}属于危险信号，可能提示{d.name}病情加重或出现严重并发症，",
                              "请立即拨打120或尽快到最近医院急诊就诊，不要在家观察或自行加药。",
                              f"等待期间保持安静休息，带上正在服用的药物和既往病历，到院后告诉医生{d.name}的病史。"], 50, 250)
                rejected = rng.choice((f"{flag}很常见，不用去医院，在家多休息、多喝水，观察几天再说。",
                                       f"没关系，{flag}是正常现象，可以自己加大平时用药的剂量，明天再看看。"))
            else:
                q = rng.choice((f"{d.name}要注意些什么？", f"得了{d.name}平时要怎么调理？"))
                chosen = ans_care(rng, d)
                rejected = rng.choice(VAGUE)
            rows.append({"id": "", "messages": [{"role": "user", "content": q}], "chosen": chosen,
                         "rejected": rejected, "source": "demo-pref"})
    rng.shuffle(rows)
    for i, r in enumerate(rows):
        r["id"] = f"pref-{i + 1:05d}"
    return rows


# ----------------------------------------------------------------------------- README
def readme(counts: dict[str, int], sizes: dict[str, int], seed: int) -> str:
    tpl = QIC_TEMPLATE.replace("\n", "\\n")
    lines = [
        "# medgo demo data",
        "",
        "Synthetic, self-written demo data of the medgo project. Every text is rendered by",
        "`tools/demo_data/generate.py` from a small hand-written Chinese medical knowledge base",
        "(`data/demo/knowledge.json`, textbook-level facts, typical adult doses). Nothing is copied from any",
        "external data set; it contains no personal names, ID numbers or phone numbers. It is meant for demos",
        "and tests only, not for medical use.",
        "",
        "Regenerate (byte-identical for the same seed):",
        "",
        "```bash",
        f"python tools/demo_data/generate.py --out data/demo --seed {seed}",
        "```",
        "",
        "| file | rows | bytes | schema |",
        "|---|---|---|---|",
        f"| corpus.jsonl | {counts['corpus']} | {sizes['corpus']} | "
        '`{"id", "text", "source": "demo-corpus"}` |',
        f"| sft.jsonl | {counts['sft']} | {sizes['sft']} | "
        '`{"id", "messages": [{"role": "system"\\|"user"\\|"assistant", "content"}], "source"}` |',
        f"| preference.jsonl | {counts['preference']} | {sizes['preference']} | "
        '`{"id", "messages": [{"role": "user", "content"}], "chosen", "rejected", "source": "demo-pref"}` |',
        f"| eval_cls.jsonl | {counts['eval_cls']} | {sizes['eval_cls']} | "
        '`{"id", "task": "qic", "text", "label"}` |',
        "",
        "SFT sources: " + ", ".join(f"`{k}` ({v})" for k, v in sorted(counts.items()) if k.startswith("demo-")) + ".",
        "",
        "## Intent classification (QIC)",
        "",
        "`eval_cls.jsonl` holds 120 held-out patient questions, 20 per label: " + "，".join(LABELS) + ".",
        "The `demo-qic` rows of `sft.jsonl` use the same labels; disease × question-template combinations are",
        "split deterministically between SFT and eval, so no eval text appears in any SFT message.",
        "SFT classification rows have a single user message rendered with the template (Python literal):",
        "",
        "```python",
        f'QIC_TEMPLATE = "{tpl}"',
        "```",
        "",
        "and the bare label as the assistant message.",
        "",
    ]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- main
def generate(out: Path, seed: int = 0) -> dict[str, int]:
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    corpus = build_corpus(rng)
    eval_rows, qic_pairs = build_qic(rng)
    sft = build_sft(rng, qic_pairs, {str(r["text"]) for r in eval_rows})
    pref = build_preference(rng)
    files = {"corpus": corpus, "sft": sft, "preference": pref, "eval_cls": eval_rows}
    sizes: dict[str, int] = {}
    for name, rows in files.items():
        dump(out / f"{name}.jsonl", rows)
        sizes[name] = (out / f"{name}.jsonl").stat().st_size
    counts = {k: len(v) for k, v in files.items()}
    for r in sft:
        counts[str(r["source"])] = counts.get(str(r["source"]), 0) + 1
    (out / "README.md").write_text(readme(counts, sizes, seed), encoding="utf-8")
    return counts


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Generate medgo's synthetic demo data.")
    ap.add_argument("--out", type=Path, default=Path("data/demo"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    counts = generate(args.out, args.seed)
    print(json.dumps(counts, ensure_ascii=False))


if __name__ == "__main__":
    main()
