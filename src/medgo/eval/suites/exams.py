"""Medical multiple-choice exams: CMMLU medical subjects, CNMLEQA, MedQA-MCMLE and CMB-Exam formats (plus
PULSE-EVAL's MedQA_Mainland as MCMLE). Two scorers: option log-likelihood (sum, and per character of the
option text) and generation with letter extraction; zero- or few-shot; accuracy per subject and type."""

from __future__ import annotations

import csv
import json
import random
import re
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medgo.errors import DataError
from medgo.eval.suite import write_outputs
from medgo.eval.suites.exams_extract import extract_letters
from medgo.inference.base import Engine, GenerationParams

EXAM_SAMPLES = Path(__file__).parent / "samples" / "exams"  # laid out like ../shared/data/corpora (project-written)

CMMLU_MEDICAL = ("anatomy", "clinical_knowledge", "college_medical_statistics", "college_medicine", "genetics",
                 "nutrition", "professional_medicine", "traditional_chinese_medicine", "virology")
END = "<|im_end|>"


@dataclass
class MCQ:
    id: str
    question: str
    options: dict[str, str]
    answer: frozenset[str]
    subject: str = ""
    qtype: str = ""
    multi: bool = False  # the format allows several correct letters (CMB 多项选择题)


def _corpora(data_dir: Path | None) -> Path:
    if data_dir is None:
        return EXAM_SAMPLES
    return data_dir if data_dir.name == "corpora" else data_dir / "corpora"


def load_cmmlu(root: Path, split: str) -> list[MCQ]:
    out = []
    for subj in CMMLU_MEDICAL:
        p = root / "CMMLU" / "data" / split / f"{subj}.csv"
        if not p.is_file():
            continue
        with p.open(encoding="utf-8-sig", newline="") as f:
            for i, r in enumerate(csv.DictReader(f)):
                out.append(MCQ(f"cmmlu-{subj}-{split}-{i}", r["Question"].strip(),
                               {k: r[k].strip() for k in "ABCD"}, frozenset(r["Answer"].strip()), subj, "knowledge"))
    return out


def load_cnmleqa(root: Path, split: str) -> list[MCQ]:
    p = root / "CNMLEQA" / "data" / "CNMLEQA-3k.json"
    rows = json.loads(p.read_text(encoding="utf-8")) if p.is_file() else []
    return [MCQ(f"cnmleqa-{r['id']}", r["question"].strip(), {L: str(r[f"op{L.lower()}"]).strip() for L in "ABCDE"},
                frozenset(r["answer"][-1].upper()), str(r.get("year", "")), r.get("question_type", ""))
            for r in rows]


def load_medqa_mcmle(root: Path, split: str) -> list[MCQ]:
    """MedQA official jsonl ({question, options{A..E}, answer_idx, meta_info}), else PULSE-EVAL's
    MedQA_Mainland (options inside the question text, reference 'E：…')."""
    for cand in (root / "MedQA" / "data_clean" / "questions" / "Mainland" / f"{split}.jsonl",
                 root / "MedQA" / "Mainland" / f"{split}.jsonl"):
        if cand.is_file():
            rows = [json.loads(ln) for ln in cand.read_text(encoding="utf-8").splitlines() if ln.strip()]
            return [MCQ(f"mcmle-{split}-{i}", r["question"].strip(), {k: str(v).strip() for k, v in r["options"].items()},
                        frozenset(r["answer_idx"]), r.get("meta_info", ""), "mcmle") for i, r in enumerate(rows)]
    p = root / "PULSE-EVAL" / "data" / "MedQA_Mainland.jsonl"
    if split != "test" or not p.is_file():
        return []
    out = []
    for i, ln in enumerate(p.read_text(encoding="utf-8").splitlines()):
        r = json.loads(ln)
        q, opts = _split_inline_options(r["question"])
        ans = re.match(r"\s*([A-E])", r.get("reference_answer", ""))
        if opts and ans:
            out.append(MCQ(f"pulse-mcmle-{i}", q, opts, frozenset(ans.group(1)), "PULSE MedQA_Mainland", "mcmle"))
    return out


def _split_inline_options(text: str) -> tuple[str, dict[str, str]]:
    lines = text.split("\n")
    opts, q = {}, []
    for ln in lines:
        m = re.match(r"^([A-E])[：:.．、]\s*(.*)$", ln.strip())
        if m:
            opts[m.group(1)] = m.group(2).strip()
        elif not opts:
            q.append(ln)
    return "\n".join(q).strip(), opts


def load_cmb_exam(root: Path, split: str) -> list[MCQ]:
    """CMB-Exam merge files: {exam_type, exam_class, exam_subject, question, answer 'ABD', question_type, option}."""
    names = {"test": "CMB-test/CMB-test-choice-answer.json", "dev": "CMB-val/CMB-val-merge.json"}
    p = root / "CMB" / "data" / "CMB-Exam" / names.get(split, "")
    if not p.is_file():
        p = root / "CMB" / "data" / "CMB-Exam" / names["dev"]  # the val file carries answers; test answers are private
    rows = json.loads(p.read_text(encoding="utf-8")) if p.is_file() else []
    return [MCQ(f"cmb-{r.get('id', i)}", r["question"].strip(),
                {k: str(v).strip() for k, v in r["option"].items() if str(v).strip()}, frozenset(r["answer"].strip()),
                r.get("exam_subject", "") or r.get("exam_class", ""), r.get("question_type", ""),
                "多项" in r.get("question_type", "")) for i, r in enumerate(rows)]


LOADERS: dict[str, tuple[Callable[[Path, str], list[MCQ]], str | None]] = {
    # name -> (loader, split used for few-shot examples; None: take shots from the eval set, never the item itself)
    "cmmlu-medical": (load_cmmlu, "dev"), "cnmleqa": (load_cnmleqa, None), "medqa-mcmle": (load_medqa_mcmle, None),
    "cmb-exam": (load_cmb_exam, None),
}


def load_exam(name: str, data_dir: Path | None, split: str = "test") -> tuple[list[MCQ], str]:
    key = name.strip().lower()
    if key not in LOADERS:
        raise DataError(f"unknown exam {name!r}", hint=f"one of {sorted(LOADERS)}")
    root = _corpora(data_dir)
    qs = LOADERS[key][0](root, split)
    if not qs:
        raise DataError(f"{name}: no {split} questions under {root}", hint="pass --data-dir or set MEDGO_DATA")
    return qs, str(root)


# -- prompts -------------------------------------------------------------------------------------------------
def _block(q: MCQ) -> str:
    kind = "多项选择题" if q.multi else "单项选择题"
    opts = "\n".join(f"{k}. {v}" for k, v in q.options.items())
    return f"以下是一道医学{kind}，请选出正确答案。\n\n{q.question}\n{opts}\n答案："


def prompt(q: MCQ, shots: Sequence[MCQ]) -> list[dict[str, str]]:
    parts = [_block(s) + "".join(sorted(s.answer)) for s in shots] + [_block(q)]
    return [{"role": "user", "content": "\n\n".join(parts)}]


def pick_shots(pool: Sequence[MCQ], k: int, seed: int, exclude: str | None = None) -> list[MCQ]:
    if k <= 0:
        return []
    rng = random.Random(seed)
    cand = [q for q in pool if q.id != exclude]
    return rng.sample(cand, min(k, len(cand)))


# -- scoring -------------------------------------------------------------------------------------------------
def loglik_choice(engine: Engine, prompts: Sequence[Any], qs: Sequence[MCQ]) -> tuple[list[str], list[str]]:
    """Predicted letter per question by summed log p(option text) and by log p per character (so that long
    options are not penalised for their length). Continuation = letter + option text + end of turn."""
    reqs, spans = [], []
    for p, q in zip(prompts, qs, strict=True):
        spans.append((len(reqs), list(q.options)))
        reqs += [(p, f"{k}. {v}{END}") for k, v in q.options.items()]
    scores = [s for s, _ in engine.loglikelihood(reqs)]
    raw, norm = [], []
    for (start, keys), q in zip(spans, qs, strict=True):
        ss = scores[start : start + len(keys)]
        lens = [len(f"{k}. {q.options[k]}") for k in keys]
        raw.append(keys[max(range(len(keys)), key=lambda j, ss=ss: ss[j])])
        norm.append(keys[max(range(len(keys)), key=lambda j, ss=ss, lens=lens: ss[j] / lens[j])])
    return raw, norm


def accuracy_table(qs: Sequence[MCQ], correct: Sequence[bool | None]) -> dict[str, Any]:
    def acc(pairs: list[bool | None]) -> dict[str, Any]:
        done = [c for c in pairs if c is not None]
        return {"n": len(done), "acc": sum(done) / len(done) if done else None}

    by_s: dict[str, list[bool | None]] = defaultdict(list)
    by_t: dict[str, list[bool | None]] = defaultdict(list)
    for q, c in zip(qs, correct, strict=True):
        by_s[q.subject or "(none)"].append(c)
        by_t[q.qtype or "(none)"].append(c)
    return {**acc(list(correct)), "by_subject": {k: acc(v) for k, v in sorted(by_s.items())},
            "by_type": {k: acc(v) for k, v in sorted(by_t.items())}}


@dataclass
class ExamSpec:
    tasks: list[str] = field(default_factory=lambda: ["cmmlu-medical", "cnmleqa"])
    data_dir: Path | None = None
    split: str = "test"
    limit: int | None = None
    shots: int = 0
    methods: list[str] = field(default_factory=lambda: ["loglik", "generate"])
    max_new_tokens: int = 32
    seed: int = 0


def evaluate_exam(engine: Engine, name: str, spec: ExamSpec) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    qs, source = load_exam(name, spec.data_dir, spec.split)
    if spec.limit:
        # a seeded sample across subjects rather than the first N (CMMLU files are per subject)
        qs = sorted(random.Random(spec.seed).sample(qs, min(spec.limit, len(qs))), key=lambda q: q.id)
    shot_split = LOADERS[name][1]
    pool = load_exam(name, spec.data_dir, shot_split)[0] if spec.shots and shot_split else qs
    fixed = pick_shots(pool, spec.shots, spec.seed)
    prompts = []
    for q in qs:
        shots = fixed if all(s.id != q.id for s in fixed) else pick_shots(pool, spec.shots, spec.seed, exclude=q.id)
        prompts.append(prompt(q, shots))
    rows = [{"id": q.id, "subject": q.subject, "qtype": q.qtype, "gold": "".join(sorted(q.answer))} for q in qs]
    res: dict[str, Any] = {"task": name, "n": len(qs), "source": source, "shots": spec.shots}
    if "loglik" in spec.methods:
        t0 = time.perf_counter()
        single = [i for i, q in enumerate(qs) if not q.multi]  # one continuation per option: single-answer only
        try:
            raw, norm = loglik_choice(engine, [prompts[i] for i in single], [qs[i] for i in single])
        except NotImplementedError as e:
            res["loglik"] = {"skipped": str(e)}
        else:
            for tag, preds in (("loglik", raw), ("loglik_norm", norm)):
                correct: list[bool | None] = [None] * len(qs)
                for i, p in zip(single, preds, strict=True):
                    rows[i][tag] = p
                    correct[i] = frozenset(p) == qs[i].answer
                res[tag] = {**accuracy_table(qs, correct), "seconds": time.perf_counter() - t0}
    if "generate" in spec.methods:
        t0 = time.perf_counter()
        outs = engine.generate(prompts, GenerationParams(max_new_tokens=spec.max_new_tokens))
        correct_g: list[bool | None] = []
        fails = 0
        for r, o, q in zip(rows, outs, qs, strict=True):
            got = extract_letters(o.text, q.options)
            fails += got is None
            r.update(raw=o.text, parsed="".join(sorted(got)) if got else None)
            correct_g.append(got == q.answer)  # no letter found counts as wrong
        res["generate"] = {**accuracy_table(qs, correct_g), "no_answer": fails, "seconds": time.perf_counter() - t0}
    return res, rows


def run_exams(engine: Engine, spec: ExamSpec, out: Path | None = None) -> dict[str, Any]:
    results = {}
    predictions: dict[str, list[dict[str, Any]]] = {}
    for name in spec.tasks:
        res, rows = evaluate_exam(engine, name.strip().lower(), spec)
        results[res["task"]] = res
        predictions[f"predictions/{res['task']}.jsonl"] = rows
    summary = {"suite": "exams", "split": spec.split, "shots": spec.shots, "engine": engine.name, "tasks": results}
    if out is not None:
        write_outputs(out, summary, markdown(summary), predictions)
    return summary


def markdown(summary: dict[str, Any]) -> str:
    def pct(d: dict[str, Any] | None) -> str:
        return f"{100 * d['acc']:.2f}" if d and d.get("acc") is not None else "–"

    lines = [f"Exams ({summary['split']}, {summary['shots']}-shot, engine {summary['engine']}); accuracy %", "",
             "| task / group | n | loglik | loglik/char | generate | no answer |", "|---|---|---|---|---|---|"]
    for name, r in summary["tasks"].items():
        ll, ln, g = r.get("loglik"), r.get("loglik_norm"), r.get("generate")
        lines.append(f"| **{name}** | {r['n']} | {pct(ll)} | {pct(ln)} | {pct(g)} | "
                     f"{g['no_answer'] if g else '–'} |")
        for grp in ("by_subject", "by_type"):
            base = g or ll or {}
            for k in base.get(grp, {}):
                sub = [(x or {}).get(grp, {}).get(k) for x in (ll, ln, g)]
                n = next((s["n"] for s in sub if s), 0)
                lines.append(f"| {name} · {k} | {n} | {pct(sub[0])} | {pct(sub[1])} | {pct(sub[2])} | |")
    return "\n".join(lines) + "\n"
