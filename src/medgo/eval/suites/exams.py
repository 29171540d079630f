"""Multiple-choice exams: CMMLU's 9 medical subjects and its 58 general ones (general ability kept or lost),
CNMLEQA, MedQA-MCMLE (or PULSE-EVAL's MedQA_Mainland), MedQA-USMLE in English (PULSE-EVAL's set) and CMB-Exam.
Two protocols (exams_protocols.py): `published`, each benchmark's own prompt with the answer letter scored
and its own k-shot, and `chat`, medgo's chat-template prompt scoring "X. option<|im_end|>". Two scorers:
log-likelihood (summed; per character and per byte of exactly the scored continuation, as lm-eval's
acc_norm / acc_bytes) and generation with letter extraction; accuracy per subject and type."""

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
from medgo.eval.suites.exams_protocols import (
    CMMLU_GENERAL,
    CMMLU_MEDICAL,
    PROTOCOLS,
    PUBLISHED_SHOTS,
    published_continuation,
    published_prompt,
)
from medgo.inference.base import Engine, GenerationParams

EXAM_SAMPLES = Path(__file__).parent / "samples" / "exams"  # laid out like ../shared/data/corpora (project-written)

END = "<|im_end|>"
GENERAL_PER_SUBJECT = 8  # cmmlu-general's default: a fixed seeded sample per subject (58 x 8 = 464); full: all
ALIASES = {"general": "cmmlu-general", "general-full": "cmmlu-general-full", "usmle": "medqa-usmle"}


@dataclass
class MCQ:
    id: str
    question: str
    options: dict[str, str]
    answer: frozenset[str]
    subject: str = ""
    qtype: str = ""
    multi: bool = False  # the format allows several correct letters (CMB 多项选择题)
    meta: dict[str, str] = field(default_factory=dict)  # format-specific fields a published prompt names


def _corpora(data_dir: Path | None) -> Path:
    if data_dir is None:
        return EXAM_SAMPLES
    return data_dir if data_dir.name == "corpora" else data_dir / "corpora"


def load_cmmlu(root: Path, split: str, subjects: Sequence[str] = CMMLU_MEDICAL) -> list[MCQ]:
    """Question stripped, options as written (as CMMLU's code and lm-eval's cmmlu task read them)."""
    out = []
    for subj in subjects:
        p = root / "CMMLU" / "data" / split / f"{subj}.csv"
        if not p.is_file():
            continue
        with p.open(encoding="utf-8-sig", newline="") as f:
            for i, r in enumerate(csv.DictReader(f)):
                out.append(MCQ(f"cmmlu-{subj}-{split}-{i}", r["Question"].strip(),
                               {k: r[k] for k in "ABCD"}, frozenset(r["Answer"].strip()), subj, "knowledge"))
    return out


def load_cmmlu_general(root: Path, split: str) -> list[MCQ]:
    return load_cmmlu(root, split, CMMLU_GENERAL)


def load_medqa_usmle(root: Path, split: str) -> list[MCQ]:
    """PULSE-EVAL's MedQA-USMLE (150 English questions, options A-E inside the question, reference 'E: …')."""
    p = root / "PULSE-EVAL" / "data" / "MedQA-USMLE.jsonl"
    if split != "test" or not p.is_file():
        return []
    out = []
    for i, ln in enumerate(p.read_text(encoding="utf-8").splitlines()):
        if not ln.strip():
            continue
        r = json.loads(ln)
        q, opts = _split_inline_options(r["question"])
        ans = re.match(r"\s*([A-E])", r.get("reference_answer", ""))
        if opts and ans:
            out.append(MCQ(f"usmle-{i}", q, opts, frozenset(ans.group(1)), "PULSE MedQA-USMLE", "usmle"))
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
                "多项" in r.get("question_type", ""),
                {"exam_type": r.get("exam_type", ""), "exam_class": r.get("exam_class", "")}) for i, r in enumerate(rows)]


LOADERS: dict[str, tuple[Callable[[Path, str], list[MCQ]], str | None]] = {
    # name -> (loader, split used for few-shot examples; None: take shots from the eval set, never the item itself)
    "cmmlu-medical": (load_cmmlu, "dev"), "cmmlu-general": (load_cmmlu_general, "dev"),
    "cnmleqa": (load_cnmleqa, None), "medqa-mcmle": (load_medqa_mcmle, None), "medqa-usmle": (load_medqa_usmle, None),
    "cmb-exam": (load_cmb_exam, None),
}


def exam_key(name: str) -> str:
    key = name.strip().lower()
    return ALIASES.get(key, key)


def load_exam(name: str, data_dir: Path | None, split: str = "test") -> tuple[list[MCQ], str]:
    key = exam_key(name)
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
    """The `chat` protocol's prompt: one user turn (shots, then the question), rendered by the chat template."""
    parts = [_block(s) + "".join(sorted(s.answer)) for s in shots] + [_block(q)]
    return [{"role": "user", "content": "\n\n".join(parts)}]


def pick_shots(pool: Sequence[MCQ], k: int, seed: int, exclude: str | None = None) -> list[MCQ]:
    if k <= 0:
        return []
    rng = random.Random(seed)
    cand = [q for q in pool if q.id != exclude]
    return rng.sample(cand, min(k, len(cand)))


def first_shots(pool: Sequence[MCQ], q: MCQ, k: int) -> list[MCQ]:
    """`published` shots: the first k questions of the question's subject in the dev split's file order
    (CMMLU's code; lm-eval's first_n sampler), never the question itself."""
    if k <= 0:
        return []
    return [s for s in pool if s.subject == q.subject and s.id != q.id][:k]


def continuations(q: MCQ, protocol: str) -> dict[str, str]:
    """Option letter -> the exact text scored after the prompt."""
    if protocol == "published":
        return {k: published_continuation(k) for k in q.options}
    return {k: f"{k}. {v}{END}" for k, v in q.options.items()}


# -- scoring -------------------------------------------------------------------------------------------------
def loglik_choice(engine: Engine, prompts: Sequence[Any], qs: Sequence[MCQ],
                  protocol: str = "chat") -> dict[str, list[Any]]:
    """Predicted letter per question by summed log-likelihood of each option's continuation (`loglik`), and
    by it divided by that continuation's length in characters (`loglik_norm`, lm-eval's acc_norm) and in
    UTF-8 bytes (`loglik_bytes`, acc_bytes): the length of exactly the string scored. `scores`: per option."""
    reqs, spans = [], []
    for p, q in zip(prompts, qs, strict=True):
        conts = continuations(q, protocol)
        spans.append((len(reqs), list(conts), [len(c) for c in conts.values()],
                      [len(c.encode("utf-8")) for c in conts.values()]))
        reqs += [(p, c) for c in conts.values()]
    scores = [s for s, _ in engine.loglikelihood(reqs)]
    out: dict[str, list[Any]] = {"loglik": [], "loglik_norm": [], "loglik_bytes": [], "scores": []}
    for start, keys, chars, nbytes in spans:
        ss = scores[start : start + len(keys)]
        out["scores"].append([round(x, 6) for x in ss])
        for tag, div in (("loglik", [1] * len(keys)), ("loglik_norm", chars), ("loglik_bytes", nbytes)):
            vals = [x / d for x, d in zip(ss, div, strict=True)]
            out[tag].append(keys[max(range(len(keys)), key=vals.__getitem__)])  # first of equals, as np.argmax
    return out


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
    shots: int | None = None  # None: the protocol's own (published: CMMLU 5, the others 0; chat: 0)
    methods: list[str] = field(default_factory=lambda: ["loglik", "generate"])
    max_new_tokens: int = 32
    seed: int = 0
    protocol: str = "published"
    full: bool = False  # cmmlu-general: every question of the 58 subjects instead of the seeded subset
    general_per_subject: int = GENERAL_PER_SUBJECT


def general_subset(qs: Sequence[MCQ], per_subject: int) -> list[MCQ]:
    """A fixed sample of `per_subject` questions of each subject, seeded by the subject's name (the same
    questions on every run and machine, whatever the other settings)."""
    by: dict[str, list[MCQ]] = defaultdict(list)
    for q in qs:
        by[q.subject].append(q)
    out = []
    for subj, items in by.items():
        keep = set(random.Random(f"cmmlu-general/{subj}").sample(range(len(items)), min(per_subject, len(items))))
        out += [q for i, q in enumerate(items) if i in keep]
    return out


def select_questions(name: str, spec: ExamSpec) -> tuple[list[MCQ], str, bool]:
    """The questions an exam runs on: (questions, source, full)."""
    full = spec.full or name.endswith("-full")
    base = name.removesuffix("-full")
    qs, source = load_exam(base, spec.data_dir, spec.split)
    if base == "cmmlu-general" and not full:
        qs = general_subset(qs, spec.general_per_subject)
    if spec.limit:
        # a seeded sample across subjects rather than the first N (CMMLU files are per subject)
        qs = sorted(random.Random(spec.seed).sample(qs, min(spec.limit, len(qs))), key=lambda q: q.id)
    return qs, source, full


def build_prompts(name: str, qs: Sequence[MCQ], spec: ExamSpec) -> tuple[list[Any], int]:
    """Each question's prompt under spec.protocol, and the shots used."""
    if spec.protocol not in PROTOCOLS:
        raise DataError(f"unknown exam protocol {spec.protocol!r}", hint=" or ".join(PROTOCOLS))
    base = name.removesuffix("-full")
    k = spec.shots if spec.shots is not None else (PUBLISHED_SHOTS.get(base, 0) if spec.protocol == "published" else 0)
    shot_split = LOADERS[base][1]
    pool: Sequence[MCQ] = load_exam(base, spec.data_dir, shot_split)[0] if k and shot_split else qs
    if spec.protocol == "published":
        return [published_prompt(base, q, first_shots(pool, q, k)) for q in qs], k
    fixed = pick_shots(pool, k, spec.seed)
    prompts = []
    for q in qs:
        shots = fixed if all(s.id != q.id for s in fixed) else pick_shots(pool, k, spec.seed, exclude=q.id)
        prompts.append(prompt(q, shots))
    return prompts, k


def evaluate_exam(engine: Engine, name: str, spec: ExamSpec) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    name = exam_key(name)
    qs, source, full = select_questions(name, spec)
    prompts, k = build_prompts(name, qs, spec)
    rows = [{"id": q.id, "subject": q.subject, "qtype": q.qtype, "gold": "".join(sorted(q.answer))} for q in qs]
    res: dict[str, Any] = {"task": name, "n": len(qs), "source": source, "protocol": spec.protocol, "shots": k}
    if name.removesuffix("-full") == "cmmlu-general":
        res["subset"] = "all" if full else f"{spec.general_per_subject} per subject (seeded by subject name)"
    if "loglik" in spec.methods:
        t0 = time.perf_counter()
        single = [i for i, q in enumerate(qs) if not q.multi]  # one continuation per option: single-answer only
        try:
            got = loglik_choice(engine, [prompts[i] for i in single], [qs[i] for i in single], spec.protocol)
        except NotImplementedError as e:
            res["loglik"] = {"skipped": str(e)}
        else:
            secs = time.perf_counter() - t0
            for i, sc in zip(single, got["scores"], strict=True):
                rows[i]["option_ll"] = sc
            for tag in ("loglik", "loglik_norm", "loglik_bytes"):
                correct: list[bool | None] = [None] * len(qs)
                for i, p in zip(single, got[tag], strict=True):
                    rows[i][tag] = p
                    correct[i] = frozenset(p) == qs[i].answer
                res[tag] = {**accuracy_table(qs, correct), "seconds": secs}
    if "generate" in spec.methods:
        t0 = time.perf_counter()
        outs = engine.generate(prompts, GenerationParams(max_new_tokens=spec.max_new_tokens))
        correct_g: list[bool | None] = []
        fails = 0
        for r, o, q in zip(rows, outs, qs, strict=True):
            letters = extract_letters(o.text, q.options)
            fails += letters is None
            r.update(raw=o.text, parsed="".join(sorted(letters)) if letters else None)
            correct_g.append(letters == q.answer)  # no letter found counts as wrong
        res["generate"] = {**accuracy_table(qs, correct_g), "no_answer": fails, "seconds": time.perf_counter() - t0}
    return res, rows


def run_exams(engine: Engine, spec: ExamSpec, out: Path | None = None) -> dict[str, Any]:
    results = {}
    predictions: dict[str, list[dict[str, Any]]] = {}
    t0 = time.perf_counter()
    for name in spec.tasks:
        t1 = time.perf_counter()
        res, rows = evaluate_exam(engine, name, spec)
        res["wall_seconds"] = time.perf_counter() - t1
        results[res["task"]] = res
        predictions[f"predictions/{res['task']}.jsonl"] = rows
    summary = {"suite": "exams", "split": spec.split, "protocol": spec.protocol,
               "shots": "protocol default" if spec.shots is None else spec.shots, "engine": engine.name,
               "wall_seconds": time.perf_counter() - t0, "tasks": results}
    if out is not None:
        write_outputs(out, summary, markdown(summary), predictions)
    return summary


def markdown(summary: dict[str, Any]) -> str:
    def pct(d: dict[str, Any] | None) -> str:
        return f"{100 * d['acc']:.2f}" if d and d.get("acc") is not None else "–"

    lines = [f"Exams ({summary['split']}, protocol {summary.get('protocol', 'chat')}, engine {summary['engine']}); "
             "accuracy %; loglik/char and loglik/byte divide by the length of exactly the scored continuation", "",
             "| task / group | protocol | shots | n | loglik | loglik/char | loglik/byte | generate | no answer |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in summary["tasks"].items():
        ll, ln, lb, g = r.get("loglik"), r.get("loglik_norm"), r.get("loglik_bytes"), r.get("generate")
        proto, shots = r.get("protocol", summary.get("protocol", "chat")), r.get("shots", summary.get("shots"))
        lines.append(f"| **{name}** | {proto} | {shots} | {r['n']} | {pct(ll)} | {pct(ln)} | {pct(lb)} | {pct(g)} | "
                     f"{g['no_answer'] if g else '–'} |")
        for grp in ("by_subject", "by_type"):
            base = g or ll or {}
            for k in base.get(grp, {}):
                sub = [(x or {}).get(grp, {}).get(k) for x in (ll, ln, lb, g)]
                n = next((s["n"] for s in sub if s), 0)
                lines.append(f"| {name} · {k} | | | {n} | {pct(sub[0])} | {pct(sub[1])} | {pct(sub[2])} | "
                             f"{pct(sub[3])} | |")
    return "\n".join(lines) + "\n"
