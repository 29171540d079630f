"""Exam loaders (project samples in every format; shared CMMLU / CNMLEQA / MCMLE / USMLE when present), the
two protocols' prompts, the log-likelihood scorers on a scripted engine, the HF engine's shared-prefix
scoring against a plain forward pass, and `medgo eval run --suite exams` on a tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from medgo.cli.main import app
from medgo.eval.suites.exams import (
    MCQ,
    ExamSpec,
    build_prompts,
    general_subset,
    load_exam,
    loglik_choice,
    prompt,
    run_exams,
    select_questions,
)
from medgo.eval.suites.exams_protocols import CMMLU_GENERAL, CMMLU_SUBJECTS
from medgo.inference.base import Completion, GenerationParams
from medgo.inference.hf import HFEngine, ll_groups


class Scripted:
    """An Engine whose log-likelihood is -1 per character except for chosen continuations, and whose
    generations are given per question."""

    name = "scripted"

    def __init__(self, ll: dict[str, float], text: str = "答案：B") -> None:
        self.ll, self.text = ll, text

    def loglikelihood(self, reqs):
        return [(self.ll.get(c, -float(len(c))), False) for _, c in reqs]

    def generate(self, prompts, params: GenerationParams):
        return [Completion(self.text, 1, 1, "stop") for _ in prompts]

    def stream(self, prompt, params):
        yield self.text


def test_samples_load_in_every_format() -> None:
    for name, n in (("cmmlu-medical", 7), ("cmmlu-general", 8), ("cnmleqa", 10), ("medqa-mcmle", 10),
                    ("medqa-usmle", 5), ("cmb-exam", 8)):
        qs, _ = load_exam(name, None)
        assert len(qs) == n and all(q.answer <= set(q.options) for q in qs)
    cmb = load_exam("cmb-exam", None)[0]
    assert [q.multi for q in cmb].count(True) == 2 and cmb[-1].answer == frozenset("AC")


def test_length_normalised_by_exactly_the_scored_text() -> None:
    q = MCQ("q", "问", {"A": "短", "B": "一个很长很长的选项"}, frozenset("B"))
    # chat continuations are "A. 短<|im_end|>" (14 chars, 16 bytes) and "B. 一个很长很长的选项<|im_end|>" (22, 46)
    eng = Scripted({"A. 短<|im_end|>": -7.0, "B. 一个很长很长的选项<|im_end|>": -12.0})
    got = loglik_choice(eng, [prompt(q, [])], [q], "chat")
    # raw: A (-7 > -12); per char: A -0.500, B -0.545 -> A; per byte: A -0.4375, B -0.261 -> B
    assert (got["loglik"], got["loglik_norm"], got["loglik_bytes"]) == (["A"], ["A"], ["B"])
    assert got["scores"] == [[-7.0, -12.0]]
    # published: the answer letter after a space; every continuation is 2 characters
    pub = loglik_choice(Scripted({" A": -3.0, " B": -2.0}), ["问\nA. 短\nB. 长\n答案："], [q], "published")
    assert pub["loglik"] == pub["loglik_norm"] == pub["loglik_bytes"] == ["B"]


def test_published_prompts_follow_each_benchmark() -> None:
    spec = ExamSpec(tasks=["cmmlu-medical"], protocol="published")
    qs = select_questions("cmmlu-medical", spec)[0]
    prompts, k = build_prompts("cmmlu-medical", qs, spec)
    assert k == 5 and isinstance(prompts[0], str)
    p = prompts[0]
    assert p.startswith("以下是关于临床知识的单项选择题，请直接给出正确答案的选项。\n\n成人正常静息心率的范围是\nA. 40-50次/分\n")
    assert p.count("答案：") == 6 and p.count("答案： ") == 5 and p.endswith(qs[0].question + "\nA. 转移性右下腹痛\n"
                                                                              "B. 左下腹绞痛\nC. 剑突下烧灼痛\nD. 腰背部放射痛\n答案：")
    # shots are the subject's own first dev rows: the general sample's subjects get theirs
    gq = select_questions("cmmlu-general", spec)[0]
    gp, _ = build_prompts("cmmlu-general", gq, spec)
    ws = [x for x, q in zip(gp, gq, strict=True) if q.subject == "world_history"][0]
    assert ws.startswith("以下是关于世界历史的单项选择题") and "第一次工业革命" in ws and "计算机" not in ws
    us = select_questions("medqa-usmle", spec)[0]
    up, k = build_prompts("medqa-usmle", us, spec)
    assert k == 0 and up[0].startswith("Question: A 58-year-old man") and up[0].endswith("E. Posterior descending "
                                                                                        "artery only\nAnswer:")
    assert us[0].answer == frozenset("C") and len(us[0].options) == 5
    chat, k = build_prompts("cmmlu-medical", qs, ExamSpec(protocol="chat"))
    assert k == 0 and chat[0][0]["role"] == "user" and chat[0][0]["content"].startswith("以下是一道医学单项选择题")


def test_general_subset_is_fixed_per_subject() -> None:
    assert len(CMMLU_SUBJECTS) == 67 and len(CMMLU_GENERAL) == 58
    qs = [MCQ(f"{s}-{i}", "q", {"A": "a"}, frozenset("A"), s) for s in ("x", "y") for i in range(20)]
    a, b = general_subset(qs, 3), general_subset(list(reversed(qs)), 3)
    assert len(a) == 6 and {q.id for q in a} == {q.id for q in general_subset(qs, 3)}
    assert {q.subject for q in a} == {"x", "y"} and len(b) == 6


def test_prefix_shared_scoring_equals_plain_forward(model_dir: Path) -> None:
    """Few-shot prompts sharing a long block, letters sharing one row, multi-token continuations, chat
    messages: every number equals a plain one-request forward pass; groups never cover a scored position."""
    eng = HFEngine.from_path(model_dir, batch_size=3)
    head = "以下是关于临床知识的单项选择题。\n\n" + "患者胸痛，诊断为急性心肌梗死，建议PCI。答案： B\n\n" * 3
    reqs = [(head + q, c) for q in ("高血压首选？答案：", "肺炎需要？答案：", "糖尿病？答案：", "头痛？\n答案：")
            for c in (" A", " B", " C", " D")]
    head2 = "以下是关于病毒学的单项选择题。\n\n" + "高血压首选ACEI或ARB，限盐。答案： A\n\n" * 5  # a longer block
    reqs += [(head2 + q, c) for q in ("流感？答案：", "乙肝病毒属于？答案：", "狂犬病？答案：") for c in (" A", " C")]
    reqs += [([{"role": "user", "content": "高血压首选ACEI或ARB吗？"}], c) for c in ("A. 是<|im_end|>", "B. 不是的<|im_end|>")]
    reqs += [("答案：", " B。肺炎需抗生素治疗。"), ("限盐", "。")]
    mixed: list[list[int]] = []
    build = eng._batch_cache
    eng._batch_cache = lambda kvs, ns: mixed.append(ns) or build(kvs, ns)
    got = eng.loglikelihood(reqs)
    assert any(len(set(ns)) > 1 for ns in mixed)  # rows over different prefixes shared a batch
    eng._prefix_kvs = lambda prefixes: None  # the fallback: one group at a time over a repeated prefix cache
    assert eng.loglikelihood(reqs) == [(pytest.approx(a, abs=1e-4), b) for a, b in got]
    for (ctx, cont), (ll, greedy) in zip(reqs, got, strict=True):
        c_ids, x_ids = eng.encode(eng.render(ctx)), eng.encode(cont)
        with torch.no_grad():
            logp = torch.log_softmax(eng.model(torch.tensor([c_ids + x_ids])).logits[0].float(), -1)
        rows = logp[len(c_ids) - 1 : len(c_ids) - 1 + len(x_ids)]
        assert ll == pytest.approx(sum(rows[j, t].item() for j, t in enumerate(x_ids)), abs=1e-4)
        assert greedy == all(rows[j].argmax().item() == t for j, t in enumerate(x_ids))
    rows = [[1] * 40 + [2, 3], [1] * 40 + [2, 4], [1] * 40 + [5], [9, 9, 9]]
    groups = ll_groups(rows, [41, 41, 40, 2], 16, 64)
    assert groups[0] == (40, [0, 1, 2]) and groups[1] == (0, [3])
    assert ll_groups(rows, [10, 41, 40, 2], 16, 64)[0][0] == 0  # a scored position inside the block: no group


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
    spec = ExamSpec(tasks=["cnmleqa"], shots=3, methods=["generate"], protocol="chat")
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
    r = CliRunner().invoke(app, ["eval", "run", "--suite", "exams", "--tasks", "cmmlu-medical,general,cnmleqa,usmle",
                                 "--model", str(model_dir), "--max-new-tokens", "4", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    s = json.loads((tmp_path / "scores.json").read_text())
    assert s["protocol"] == "published" and s["tasks"]["cmmlu-medical"]["shots"] == 5
    assert s["tasks"]["medqa-usmle"]["shots"] == 0 and s["tasks"]["cmmlu-general"]["protocol"] == "published"
    for t in ("cmmlu-medical", "cmmlu-general", "cnmleqa", "medqa-usmle"):
        for m in ("loglik", "loglik_norm", "loglik_bytes", "generate"):
            assert 0.0 <= s["tasks"][t][m]["acc"] <= 1.0
    assert "clinical_knowledge" in r.output and "loglik/byte" in r.output and "| published | 5 |" in r.output
    r = CliRunner().invoke(app, ["eval", "run", "--suite", "exams", "--tasks", "cmmlu-medical", "--template", "chat",
                                 "--methods", "loglik", "--model", str(model_dir), "--out", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    s = json.loads((tmp_path / "c" / "scores.json").read_text())
    assert s["protocol"] == "chat" and s["tasks"]["cmmlu-medical"]["shots"] == 0


def test_shared_sets_load(shared_data: Path) -> None:
    assert len(load_exam("cmmlu-medical", shared_data)[0]) == 1815
    assert len(load_exam("cmmlu-medical", shared_data, "dev")[0]) == 45
    cn = load_exam("cnmleqa", shared_data)[0]
    assert len(cn) == 2949 and all(len(q.options) == 5 for q in cn)
    assert len(load_exam("medqa-mcmle", shared_data)[0]) == 150
    us = load_exam("medqa-usmle", shared_data)[0]
    assert len(us) == 150 and all(len(q.options) == 5 and q.answer <= set(q.options) for q in us)
    assert not any("Answer this question" in q.question or "Answer this question" in q.options["E"] for q in us)
    gen = load_exam("cmmlu-general", shared_data)[0]
    assert {q.subject for q in gen} == set(CMMLU_GENERAL)
    spec = ExamSpec(tasks=["cmmlu-general"], data_dir=shared_data)
    assert len(select_questions("cmmlu-general", spec)[0]) == 58 * 8
    assert len(select_questions("cmmlu-general-full", spec)[0]) == len(gen) > 9000


def test_stage_row_names_protocol_and_reports_general_and_english(tmp_path: Path) -> None:
    from medgo.config.schema import ExamsEvalConfig
    from medgo.eval.suite import StageInputs
    from medgo.eval.suites.exams_run import ExamsSuite

    c = ExamsEvalConfig()
    assert c.protocol == "published" and c.shots is None and "cmmlu-general" in c.tasks and "medqa-usmle" in c.tasks
    row = ExamsSuite().for_stage(Scripted({" A": -0.1}), c, StageInputs(model="pretrain", out=tmp_path))
    assert set(row) == {"cmmlu-medical", "cmmlu-general", "cnmleqa", "medqa-usmle"}
    assert row["cmmlu-medical"]["protocol"] == "published" and row["cmmlu-medical"]["shots"] == 5
    assert row["medqa-usmle"]["shots"] == 0 and row["medqa-usmle"]["n"] == 5
    for r in row.values():  # the scripted engine always prefers " A"
        assert r["loglik"] == r["loglik_norm"] == r["loglik_bytes"] is not None
    s = json.loads((tmp_path / "scores.json").read_text())
    assert s["protocol"] == "published" and "| published |" in (tmp_path / "scores.md").read_text()
    chat = ExamsSuite().for_stage(Scripted({}), ExamsEvalConfig(tasks=["general"], protocol="chat"),
                                  StageInputs(model="sft", out=tmp_path / "chat"))
    assert chat["cmmlu-general"]["protocol"] == "chat" and chat["cmmlu-general"]["shots"] == 0


def test_protocol_from_cli_options() -> None:
    from medgo.errors import DataError
    from medgo.eval.suite import EvalOptions
    from medgo.eval.suites.exams_run import ExamsSuite

    s = ExamsSuite()
    assert s.spec(EvalOptions(tasks="cmmlu-medical")).protocol == "published"
    assert s.spec(EvalOptions(tasks="cmmlu-medical", template="chat")).protocol == "chat"
    assert s.spec(EvalOptions(tasks="general-full", shots=2)).tasks == ["cmmlu-general-full"]
    assert s.spec(EvalOptions(tasks="general", shots=2)).shots == 2
    with pytest.raises(DataError, match="unknown protocol"):
        s.spec(EvalOptions(tasks="cmmlu-medical", template="leaderboard"))


def test_cli_options_reach_the_exam_spec() -> None:
    from medgo.errors import DataError
    from medgo.eval.suite import EvalOptions
    from medgo.eval.suites.exams_run import ExamsSuite

    s = ExamsSuite().spec(EvalOptions(tasks="cmmlu-medical"))
    assert (s.protocol, s.shots, s.full) == ("published", None, False)  # the protocol's own shots
    s = ExamsSuite().spec(EvalOptions(tasks="cmmlu-medical", protocol="chat", shots=0, full=True))
    assert (s.protocol, s.shots, s.full) == ("chat", 0, True)  # 0-shot can be asked for
    with pytest.raises(DataError, match="unknown protocol"):
        ExamsSuite().spec(EvalOptions(tasks="cmmlu-medical", protocol="leaderboard"))
