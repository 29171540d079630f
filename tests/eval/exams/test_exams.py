"""Exam loaders (project samples in all four formats; shared CMMLU / CNMLEQA / MCMLE when present), the two
log-likelihood scorers on a scripted engine, and `medgo eval run --suite exams` on a tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medgo.cli.main import app
from medgo.eval.suites.exams import MCQ, ExamSpec, load_exam, loglik_choice, prompt, run_exams
from medgo.inference.base import Completion, GenerationParams


class Scripted:
    """An Engine whose log-likelihood is -1 per character except for chosen continuations, and whose
    generations are given per question."""

    name = "scripted"

    def __init__(self, ll: dict[str, float], text: str = "答案：B") -> None:
        self.ll, self.text = ll, text

    def loglikelihood(self, reqs):
        return [(self.ll.get(c.split("<|im_end|>")[0], -float(len(c))), False) for _, c in reqs]

    def generate(self, prompts, params: GenerationParams):
        return [Completion(self.text, 1, 1, "stop") for _ in prompts]

    def stream(self, prompt, params):
        yield self.text


def test_samples_load_in_every_format() -> None:
    for name, n in (("cmmlu-medical", 7), ("cnmleqa", 10), ("medqa-mcmle", 10), ("cmb-exam", 8)):
        qs, _ = load_exam(name, None)
        assert len(qs) == n and all(q.answer <= set(q.options) for q in qs)
    cmb = load_exam("cmb-exam", None)[0]
    assert [q.multi for q in cmb].count(True) == 2 and cmb[-1].answer == frozenset("AC")


def test_raw_and_length_normalised_loglik_differ() -> None:
    q = MCQ("q", "问", {"A": "短", "B": "一个很长很长的选项"}, frozenset("B"))
    # raw: A (-4 > -9); per character: A -4/4 = -1.0, B -9/12 = -0.75 -> B
    eng = Scripted({"A. 短": -4.0, "B. 一个很长很长的选项": -9.0})
    raw, norm = loglik_choice(eng, [prompt(q, [])], [q])
    assert (raw, norm) == (["A"], ["B"])


def test_run_exams_accuracy_per_subject_and_type(tmp_path: Path) -> None:
    spec = ExamSpec(tasks=["cmb-exam"], methods=["loglik", "generate"])
    s = run_exams(Scripted({}, text="答案是A和C"), spec, tmp_path)
    r = s["tasks"]["cmb-exam"]
    # generation says AC: right only on the multi-answer question whose key is AC
    assert r["generate"]["acc"] == pytest.approx(1 / 8) and r["generate"]["no_answer"] == 0
    assert r["generate"]["by_type"]["多项选择题"] == {"n": 2, "acc": 0.5}
    assert r["loglik"]["n"] == 6  # multi-answer questions are not ranked by log-likelihood
    assert (tmp_path / "scores.md").is_file()
    rows = [json.loads(x) for x in (tmp_path / "predictions" / "cmb-exam.jsonl").read_text().splitlines()]
    assert rows[-1]["parsed"] == "AC" and rows[-1]["gold"] == "AC"


def test_few_shot_prompt_never_shows_the_question_itself() -> None:
    spec = ExamSpec(tasks=["cnmleqa"], shots=3, methods=["generate"])
    qs = load_exam("cnmleqa", None)[0]
    seen = []

    class Rec(Scripted):
        def generate(self, prompts, params):
            seen.extend(p[0]["content"] for p in prompts)
            return super().generate(prompts, params)

    run_exams(Rec({}), spec)
    for q, p in zip(qs, seen, strict=True):
        assert p.count(q.question) == 1 and p.count("答案：") == 4


def test_cli_exams_on_tiny_model(model_dir: Path, tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["eval", "run", "--suite", "exams", "--tasks", "cmmlu-medical,cnmleqa", "--model",
                                 str(model_dir), "--shots", "1", "--max-new-tokens", "4", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    s = json.loads((tmp_path / "scores.json").read_text())
    for t in ("cmmlu-medical", "cnmleqa"):
        for m in ("loglik", "loglik_norm", "generate"):
            assert 0.0 <= s["tasks"][t][m]["acc"] <= 1.0
    assert "clinical_knowledge" in r.output and "loglik/char" in r.output


def test_shared_sets_load(shared_data: Path) -> None:
    assert len(load_exam("cmmlu-medical", shared_data)[0]) == 1815
    assert len(load_exam("cmmlu-medical", shared_data, "dev")[0]) == 45
    cn = load_exam("cnmleqa", shared_data)[0]
    assert len(cn) == 2949 and all(len(q.options) == 5 for q in cn)
    assert len(load_exam("medqa-mcmle", shared_data)[0]) == 150
