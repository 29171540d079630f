"""Preference builders into `{id, prompt, chosen, rejected, source}`:
- judged: answer pairs with judge scores (ties dropped); PULSE-style data + aligned judge-output files
- qa: questions with correct (1) / wrong (0) answers, e.g. cMedQA
- mcq: exam questions with model answers vs the key (a wrong model answer is the rejected side)
- sampled: N sampled answers per prompt ranked by a scorer (given scores, or char-F1 against a reference)."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from itertools import zip_longest
from pathlib import Path
from typing import Any, Literal

from medgo.data.manifest import JsonlWriter, RejectWriter, StepStats, write_manifest
from medgo.data.readers import Record, iter_records
from medgo.data.schemas import validate_preference
from medgo.errors import DataError

Mode = Literal["judged", "qa", "mcq", "sampled"]
_SCORES = re.compile(r"^\s*(\d+(?:\.\d+)?)[\s,/]+(\d+(?:\.\d+)?)")
_LETTERS = "ABCDEFGH"


def parse_scores(s: Any) -> tuple[float, float] | None:
    """'8 6', '8,6', [8, 6], or a judge reply whose first line starts with the two scores."""
    if isinstance(s, list | tuple) and len(s) == 2:
        return float(s[0]), float(s[1])
    if isinstance(s, str):
        if s.lstrip().startswith("{"):
            try:
                s = json.loads(s).get("content", "")
            except (json.JSONDecodeError, AttributeError):
                return None
        m = _SCORES.match(s)
        if m:
            return float(m.group(1)), float(m.group(2))
    return None


def _first(row: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for k in keys:
        if row.get(k) not in (None, ""):
            return row[k]
    raise KeyError(keys[0])


def char_f1(pred: str, ref: str) -> float:
    """Character-overlap F1: a reference metric that needs no Chinese word segmentation."""
    p, r = Counter(pred.replace(" ", "")), Counter(ref.replace(" ", ""))
    common = sum((p & r).values())
    if not common:
        return 0.0
    prec, rec = common / sum(p.values()), common / sum(r.values())
    return 2 * prec * rec / (prec + rec)


def rank_samples(
    prompt: str, answers: list[str], scorer: Callable[[str], float]
) -> tuple[str, str, float, float] | None:
    """Best vs worst answer by `scorer`; None when they tie (no preference signal)."""
    if len(answers) < 2:
        return None
    scored = sorted(((scorer(a), a) for a in answers), key=lambda x: x[0], reverse=True)
    (hi, best), (lo, worst) = scored[0], scored[-1]
    return None if hi == lo or best.strip() == worst.strip() else (best, worst, hi, lo)


def _judged(rec: Record, judge: dict[str, Any] | None) -> Iterator[dict[str, Any] | str]:
    row = rec.row
    prompt = _first(row, ("prompt", "question", "instruction"))
    a = _first(row, ("answer_a", "model_a_predict_answer", "response_a", "output_a"))
    b = _first(row, ("answer_b", "model_b_predict_answer", "response_b", "output_b"))
    raw = row.get("scores", row.get("score"))
    if raw is None and judge is not None:
        raw = judge.get("output", judge.get("scores"))
    sc = parse_scores(raw)
    if sc is None:
        yield f"bad scores: cannot read two scores from {str(raw)[:60]!r}"
        return
    if sc[0] == sc[1]:
        yield f"tie: both answers scored {sc[0]:g}"
        return
    chosen, rejected = (a, b) if sc[0] > sc[1] else (b, a)
    yield {"prompt": prompt, "chosen": chosen, "rejected": rejected, "scores": list(sc)}


def _mcq(rec: Record, model_keys: list[str] | None) -> Iterator[dict[str, Any] | str]:
    row = rec.row
    opts = row.get("options")
    if isinstance(opts, dict):
        options = {str(k).upper(): str(v) for k, v in opts.items()}
    elif isinstance(opts, list):
        options = {_LETTERS[i]: str(v) for i, v in enumerate(opts)}
    else:
        options = {k[-1].upper(): str(row[k]) for k in ("opa", "opb", "opc", "opd", "ope", "opf") if row.get(k)}
    key = str(_first(row, ("answer", "key", "label"))).strip()
    key = key[-1].upper() if key.lower().startswith("op") else key[:1].upper()
    if key not in options:
        yield f"bad key: answer {key!r} not among options {sorted(options)}"
        return
    prompt = str(_first(row, ("question", "stem"))) + "\n" + "\n".join(f"{k}. {v}" for k, v in sorted(options.items()))
    models = model_keys or [k for k, v in row.items() if isinstance(v, str) and len(v.strip()) == 1
                            and v.strip().upper() in options and k not in ("answer", "key", "label")]
    wrong = sorted({row[m].strip().upper() for m in models if isinstance(row.get(m), str)} - {key} & set(options))
    if not wrong:
        yield "no wrong answer: every model answered the key"
        return
    for w in wrong:
        yield {"prompt": prompt, "chosen": f"{key}. {options[key]}", "rejected": f"{w}. {options[w]}", "models_wrong": w}


def build_pref(
    inputs: list[str | Path], out_path: str | Path, *, mode: Mode, judge_files: list[str | Path] | None = None,
    model_keys: list[str] | None = None, columns: list[str] | None = None, max_pairs_per_prompt: int = 3,
) -> dict[str, Any]:
    if not inputs:
        raise DataError("build-pref: no input files", hint="pass --in FILE")
    if judge_files and len(judge_files) != len(inputs):
        raise DataError("build-pref: --judge must be given once per --in file (lines align)", hint="pair them in order")
    out = Path(out_path)
    stem = out.name.removesuffix(".jsonl")
    stats = StepStats("build-pref")
    with JsonlWriter(out, stats) as w, RejectWriter(out.with_name(f"{stem}.rejects.jsonl"), stats) as rej:
        def emit(rec: Record, items: Iterator[dict[str, Any] | str]) -> None:
            n = 0
            for item in items:
                if isinstance(item, str):
                    rej.reject(rec.file, rec.line, item, str(rec.row)[:1000])
                    return
                row = {"id": f"{rec.row.get('id', Path(rec.file).stem + '-' + str(rec.line))}" + (f"-{n}" if n else ""),
                       **item, "source": rec.row.get("source", Path(rec.file).name)}
                err = validate_preference(row)
                if err:
                    rej.reject(rec.file, rec.line, err, str(rec.row)[:1000])
                    return
                w.write(row)
                n += 1
            # rows_out counts input rows that yielded pairs (the accounting unit); pairs are counted apart
            stats.rows_out -= max(0, n - 1)

        for i, path in enumerate(inputs):
            if mode == "qa":
                _build_qa(path, columns, max_pairs_per_prompt, w, rej, stats)
                continue
            judges = iter_records(judge_files[i]) if judge_files else iter(())
            for rec, jrec in zip_longest(iter_records(path, rej, stats), judges):
                if rec is None:
                    break
                try:
                    if mode == "judged":
                        emit(rec, _judged(rec, jrec.row if jrec else None))
                    elif mode == "mcq":
                        emit(rec, _mcq(rec, model_keys))
                    else:
                        emit(rec, _sampled(rec))
                except KeyError as e:
                    rej.reject(rec.file, rec.line, f"missing field: {e}", str(rec.row)[:1000])
        stats.extra["pairs"] = w.n
    return write_manifest(out.with_name(f"{stem}.manifest.json"), stats, mode=mode, inputs=[str(p) for p in inputs])


def _sampled(rec: Record) -> Iterator[dict[str, Any] | str]:
    row = rec.row
    prompt, answers = _first(row, ("prompt", "question")), row.get("answers") or row.get("samples")
    if not isinstance(answers, list) or len(answers) < 2:
        yield "too few samples: need >= 2 answers"
        return
    if isinstance(row.get("scores"), list) and len(row["scores"]) == len(answers):
        table = dict(zip(answers, row["scores"], strict=True))
        ranked = rank_samples(prompt, answers, lambda a: float(table[a]))
    elif isinstance(row.get("reference"), str):
        ranked = rank_samples(prompt, answers, lambda a: char_f1(a, row["reference"]))
    else:
        yield "no scorer: a sampled row needs 'scores' or a 'reference'"
        return
    if ranked is None:
        yield "tie: best and worst samples scored the same"
        return
    yield {"prompt": prompt, "chosen": ranked[0], "rejected": ranked[1], "scores": [ranked[2], ranked[3]]}


def _build_qa(
    path: str | Path, columns: list[str] | None, max_pairs: int, w: JsonlWriter, rej: RejectWriter, stats: StepStats
) -> None:
    """Group answers by question (in memory: QA judgement sets are eval-sized), pair correct x wrong."""
    groups: dict[str, dict[str, list[tuple[str, Record]]]] = {}
    fmt = "tsv" if str(path).endswith((".txt", ".txt.utf8")) else None
    for rec in iter_records(path, rej, stats, fmt=fmt, columns=columns or (["label", "question", "answer"] if fmt else None)):
        try:
            q, a, lab = str(rec.row["question"]).strip(), str(rec.row["answer"]).strip(), str(rec.row["label"]).strip()
        except KeyError as e:
            rej.reject(rec.file, rec.line, f"missing field: {e}", str(rec.row)[:1000])
            continue
        if lab not in ("0", "1") or not q or not a:
            rej.reject(rec.file, rec.line, f"bad label: {lab!r} (expected 1 correct / 0 wrong) or empty text", str(rec.row)[:500])
            continue
        groups.setdefault(q, {"1": [], "0": []})[lab].append((a, rec))
    used: set[int] = set()
    pairs_all: list[Any] = []
    for g in groups.values():
        pairs = [(c, r) for c in g["1"] for r in g["0"] if c[0] != r[0]][:max_pairs]
        pairs_all += pairs
        used |= {id(x[1]) for p in pairs for x in p}
    for q, g in groups.items():
        pairs = [(c, r) for c in g["1"] for r in g["0"] if c[0] != r[0]][:max_pairs]
        for c, r in pairs:
            w.write({"id": f"{Path(path).stem}-{c[1].line}-{r[1].line}", "prompt": q, "chosen": c[0], "rejected": r[0],
                     "source": Path(path).name})
        for a, rec in g["1"] + g["0"]:
            if id(rec) not in used:
                rej.reject(rec.file, rec.line, "unpaired: no answer of the opposite label for this question (or cap)", a[:300])
    # rows_out counts input rows used in at least one pair (the JSONL writer counted pairs)
    stats.rows_out += len(used) - len(pairs_all)
